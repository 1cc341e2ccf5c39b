// Command notification is the Notification service: templates, durable
// delivery by email, SMS and push, and the delivery log (spec section 7).
// See README.md for its settings.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/mongodb"
	"hospital/lib/service"
	"hospital/svc/notification/notification"
)

// Config is the notification service's environment.
type Config struct {
	config.Base
	MongoURI string `env:"MONGO_URI" envDefault:"mongodb://127.0.0.1:27017/"`
	MongoDB  string `env:"MONGO_DB" envDefault:"hospital_notification"`

	DefaultLanguage  string `env:"DEFAULT_LANGUAGE" envDefault:"vi"`
	FallbackLanguage string `env:"FALLBACK_LANGUAGE" envDefault:"en"`
	DefaultChannels  string `env:"DEFAULT_CHANNELS" envDefault:"EMAIL"`
	// TemplateCacheTTL: how long an instance reuses templates it has read.
	TemplateCacheTTL time.Duration `env:"TEMPLATE_CACHE_TTL" envDefault:"5s"`

	SMTPAddr     string        `env:"SMTP_ADDR" envDefault:"127.0.0.1:1025"`
	SMTPUsername string        `env:"SMTP_USERNAME"`
	SMTPPassword string        `env:"SMTP_PASSWORD"`
	SMTPTLS      string        `env:"SMTP_TLS" envDefault:"none"`
	SMTPFrom     string        `env:"SMTP_FROM" envDefault:"Hospital <no-reply@hospital.local>"`
	SMTPHelo     string        `env:"SMTP_HELO"`
	SMTPTimeout  time.Duration `env:"SMTP_TIMEOUT" envDefault:"15s"`

	SMSProvider        string        `env:"SMS_PROVIDER" envDefault:"sink"`
	TwilioAccountSID   string        `env:"TWILIO_ACCOUNT_SID"`
	TwilioAuthToken    string        `env:"TWILIO_AUTH_TOKEN"`
	TwilioFrom         string        `env:"TWILIO_FROM"`
	TwilioMessagingSID string        `env:"TWILIO_MESSAGING_SERVICE_SID"`
	TwilioBaseURL      string        `env:"TWILIO_BASE_URL" envDefault:"https://api.twilio.com"`
	PushProvider       string        `env:"PUSH_PROVIDER" envDefault:"sink"`
	FCMProjectID       string        `env:"FCM_PROJECT_ID"`
	FCMCredentialsFile string        `env:"FCM_CREDENTIALS_FILE"`
	FCMBaseURL         string        `env:"FCM_BASE_URL" envDefault:"https://fcm.googleapis.com"`
	WorkerConcurrency  int           `env:"WORKER_CONCURRENCY" envDefault:"4"`
	WorkerBatch        int           `env:"WORKER_BATCH" envDefault:"100"`
	WorkerPollInterval time.Duration `env:"WORKER_POLL_INTERVAL" envDefault:"1s"`
	DeliveryLease      time.Duration `env:"DELIVERY_LEASE" envDefault:"2m"`
	SendTimeout        time.Duration `env:"SEND_TIMEOUT" envDefault:"20s"`
	MaxAttempts        int           `env:"MAX_ATTEMPTS" envDefault:"6"`
	RetryBackoffBase   time.Duration `env:"RETRY_BACKOFF_BASE" envDefault:"10s"`
	RetryBackoffMax    time.Duration `env:"RETRY_BACKOFF_MAX" envDefault:"15m"`
	LeaseRetention     time.Duration `env:"LEASE_RETENTION" envDefault:"168h"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "notification:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load[Config]()
	if err != nil {
		return err
	}
	if cfg.SendTimeout*2 >= cfg.DeliveryLease {
		return fmt.Errorf("DELIVERY_LEASE (%s) must be more than twice SEND_TIMEOUT (%s)", cfg.DeliveryLease, cfg.SendTimeout)
	}
	channels, err := notification.ParseChannels(cfg.DefaultChannels)
	if err != nil {
		return fmt.Errorf("DEFAULT_CHANNELS: %w", err)
	}
	s, err := service.New("notification", cfg.Base)
	if err != nil {
		return err
	}
	if cfg.ServiceSecret == "" {
		s.Log.Warn("SERVICE_SECRET is not set: contact info cannot be read from the user service")
	}
	senders, err := notification.BuildSenders(notification.ChannelSettings{
		SMTP: notification.SMTPConfig{
			Addr: cfg.SMTPAddr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS,
			From: cfg.SMTPFrom, HELO: cfg.SMTPHelo, Timeout: cfg.SMTPTimeout,
		},
		SMSProvider: strings.ToLower(cfg.SMSProvider),
		Twilio: notification.TwilioConfig{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			MessagingServiceSID: cfg.TwilioMessagingSID, BaseURL: cfg.TwilioBaseURL,
		},
		PushProvider: strings.ToLower(cfg.PushProvider),
		FCM:          notification.FCMConfig{ProjectID: cfg.FCMProjectID, CredentialsFile: cfg.FCMCredentialsFile, BaseURL: cfg.FCMBaseURL},
	}, s.Log)
	if err != nil {
		return err
	}

	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	client, err := mongodb.Connect(startCtx, cfg.MongoURI, "notification")
	if err != nil {
		return err
	}
	defer client.Disconnect(context.Background())
	store := notification.NewStore(client.Database(cfg.MongoDB), s.InstanceID)
	if err := store.Init(startCtx, time.Now().UTC()); err != nil {
		return err
	}

	concurrency := cfg.WorkerConcurrency
	if concurrency <= 0 {
		concurrency = -1 // API only: other instances deliver
	}
	worker := notification.NewWorker(store, senders, notification.WorkerOptions{
		Concurrency: concurrency, Batch: cfg.WorkerBatch, Poll: cfg.WorkerPollInterval,
		Lease: cfg.DeliveryLease, SendTimeout: cfg.SendTimeout, MaxAttempts: cfg.MaxAttempts,
		BackoffBase: cfg.RetryBackoffBase, BackoffMax: cfg.RetryBackoffMax, LeaseRetention: cfg.LeaseRetention,
		Instance: s.InstanceID, Registerer: s.Registry, Logger: s.Log,
	})
	svc := notification.New(store, notification.UserContacts{Client: s.Client, Log: s.Log}, worker, notification.Options{
		DefaultLanguage: cfg.DefaultLanguage, FallbackLanguage: cfg.FallbackLanguage, DefaultChannels: channels,
		UrgentHold: cfg.DeliveryLease, TemplateCacheTTL: cfg.TemplateCacheTTL, Logger: s.Log,
	})

	return s.Run(context.Background(), service.Spec{
		Handler:    notification.Router(svc, s.Verifier()),
		Routes:     notification.GatewayRoutes(cfg.SendTimeout),
		Checks:     map[string]health.Check{"mongodb": mongodb.Ping(client)},
		Background: []func(context.Context){worker.Run, service.Every(time.Hour, s.Log, "purging old delivery leases", worker.PurgeLeases)},
	})
}
