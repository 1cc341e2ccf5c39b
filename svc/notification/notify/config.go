package notify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hospital/lib/config"
)

// Config is the notification service's environment (README, Configuration).
type Config struct {
	config.Base
	MongoURI string `env:"MONGO_URI" envDefault:"mongodb://127.0.0.1:27017/"`
	MongoDB  string `env:"MONGO_DB" envDefault:"hospital_notification"`

	DefaultLanguage  string        `env:"DEFAULT_LANGUAGE" envDefault:"vi"`
	FallbackLanguage string        `env:"FALLBACK_LANGUAGE" envDefault:"en"`
	DefaultChannels  string        `env:"DEFAULT_CHANNELS" envDefault:"EMAIL"`
	TemplateCacheTTL time.Duration `env:"TEMPLATE_CACHE_TTL" envDefault:"5s"`

	SMTPAddr     string        `env:"SMTP_ADDR" envDefault:"127.0.0.1:1025"`
	SMTPUsername string        `env:"SMTP_USERNAME"`
	SMTPPassword string        `env:"SMTP_PASSWORD"`
	SMTPTLS      string        `env:"SMTP_TLS" envDefault:"none"`
	SMTPFrom     string        `env:"SMTP_FROM" envDefault:"Hospital <no-reply@hospital.local>"`
	SMTPHelo     string        `env:"SMTP_HELO"`
	SMTPTimeout  time.Duration `env:"SMTP_TIMEOUT" envDefault:"15s"`
	// SMTPMessagesPerConn bounds how many messages one SMTP connection
	// carries before it is closed and a fresh one opened.
	SMTPMessagesPerConn int `env:"SMTP_MESSAGES_PER_CONNECTION" envDefault:"500"`

	SMSProvider        string `env:"SMS_PROVIDER" envDefault:"sink"`
	TwilioAccountSID   string `env:"TWILIO_ACCOUNT_SID"`
	TwilioAuthToken    string `env:"TWILIO_AUTH_TOKEN"`
	TwilioFrom         string `env:"TWILIO_FROM"`
	TwilioMessagingSID string `env:"TWILIO_MESSAGING_SERVICE_SID"`
	TwilioBaseURL      string `env:"TWILIO_BASE_URL" envDefault:"https://api.twilio.com"`
	PushProvider       string `env:"PUSH_PROVIDER" envDefault:"sink"`
	FCMProjectID       string `env:"FCM_PROJECT_ID"`
	FCMCredentialsFile string `env:"FCM_CREDENTIALS_FILE"`
	FCMBaseURL         string `env:"FCM_BASE_URL" envDefault:"https://fcm.googleapis.com"`

	WorkerConcurrency  int           `env:"WORKER_CONCURRENCY" envDefault:"8"`
	WorkerBatch        int           `env:"WORKER_BATCH" envDefault:"250"`
	WorkerPollInterval time.Duration `env:"WORKER_POLL_INTERVAL" envDefault:"1s"`
	DeliveryLease      time.Duration `env:"DELIVERY_LEASE" envDefault:"2m"`
	SendTimeout        time.Duration `env:"SEND_TIMEOUT" envDefault:"20s"`
	MaxAttempts        int           `env:"MAX_ATTEMPTS" envDefault:"6"`
	RetryBackoffBase   time.Duration `env:"RETRY_BACKOFF_BASE" envDefault:"10s"`
	RetryBackoffMax    time.Duration `env:"RETRY_BACKOFF_MAX" envDefault:"15m"`

	// ContentRetention is how long a finished log keeps its rendered
	// message and payload; ClaimRetention how long delivery claims are kept.
	ContentRetention  time.Duration `env:"CONTENT_RETENTION" envDefault:"720h"`
	ClaimRetention    time.Duration `env:"CLAIM_RETENTION" envDefault:"168h"`
	HousekeepingEvery time.Duration `env:"HOUSEKEEPING_INTERVAL" envDefault:"1h"`

	// The outbox that delivers the audit events to the admin service.
	OutboxPoll       time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.SendTimeout <= 0 || c.SendTimeout*2 >= c.DeliveryLease {
		bad("DELIVERY_LEASE (%s) must be more than twice SEND_TIMEOUT (%s)", c.DeliveryLease, c.SendTimeout)
	}
	if _, err := ParseChannels(c.DefaultChannels); err != nil {
		bad("DEFAULT_CHANNELS: %w", err)
	}
	for name, lang := range map[string]string{"DEFAULT_LANGUAGE": c.DefaultLanguage, "FALLBACK_LANGUAGE": c.FallbackLanguage} {
		if !languagePattern.MatchString(lang) {
			bad("%s %q: want a language code such as vi or en", name, lang)
		}
	}
	if c.WorkerBatch < 1 || c.WorkerBatch > 1000 {
		bad("WORKER_BATCH %d: want 1 to 1000", c.WorkerBatch)
	}
	if c.WorkerConcurrency > 256 {
		bad("WORKER_CONCURRENCY %d: at most 256", c.WorkerConcurrency)
	}
	if c.MaxAttempts < 1 {
		bad("MAX_ATTEMPTS %d: want at least 1", c.MaxAttempts)
	}
	if c.SMTPMessagesPerConn < 1 {
		bad("SMTP_MESSAGES_PER_CONNECTION %d: want at least 1", c.SMTPMessagesPerConn)
	}
	for name, d := range map[string]time.Duration{
		"WORKER_POLL_INTERVAL": c.WorkerPollInterval, "RETRY_BACKOFF_BASE": c.RetryBackoffBase,
		"RETRY_BACKOFF_MAX": c.RetryBackoffMax, "CONTENT_RETENTION": c.ContentRetention,
		"CLAIM_RETENTION": c.ClaimRetention, "HOUSEKEEPING_INTERVAL": c.HousekeepingEvery,
		"OUTBOX_POLL_INTERVAL": c.OutboxPoll, "OUTBOX_BACKOFF_MAX": c.OutboxBackoffMax,
	} {
		if d <= 0 {
			bad("%s %s: want a positive duration", name, d)
		}
	}
	// A claim outlives every retry of its log by far (see Queue).
	if c.ClaimRetention < 24*time.Hour {
		bad("CLAIM_RETENTION %s: want at least 24h", c.ClaimRetention)
	}
	if !slices.Contains([]string{"sink", "twilio"}, strings.ToLower(c.SMSProvider)) {
		bad("SMS_PROVIDER %q: want sink or twilio", c.SMSProvider)
	}
	if !slices.Contains([]string{"sink", "fcm"}, strings.ToLower(c.PushProvider)) {
		bad("PUSH_PROVIDER %q: want sink or fcm", c.PushProvider)
	}
	return errors.Join(errs...)
}

// Options is what the Service takes from the configuration.
func (c Config) Options() Options {
	channels, _ := ParseChannels(c.DefaultChannels)
	return Options{
		DefaultLanguage: c.DefaultLanguage, FallbackLanguage: c.FallbackLanguage, DefaultChannels: channels,
		UrgentHold: c.DeliveryLease, TemplateCacheTTL: c.TemplateCacheTTL,
		ContentRetention: c.ContentRetention, ClaimRetention: c.ClaimRetention,
	}
}

// WorkerOptions is what the Worker takes from the configuration.
func (c Config) WorkerOptions() WorkerOptions {
	concurrency := c.WorkerConcurrency
	if concurrency <= 0 {
		concurrency = -1 // API only: other instances deliver
	}
	return WorkerOptions{
		Concurrency: concurrency, Batch: c.WorkerBatch, Poll: c.WorkerPollInterval,
		Lease: c.DeliveryLease, SendTimeout: c.SendTimeout, MaxAttempts: c.MaxAttempts,
		BackoffBase: c.RetryBackoffBase, BackoffMax: c.RetryBackoffMax,
	}
}

// ParseChannels reads a comma list of channels (DEFAULT_CHANNELS).
func ParseChannels(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		ch := strings.ToUpper(strings.TrimSpace(part))
		if ch == "" {
			continue
		}
		if !slices.Contains(Channels, ch) {
			return nil, fmt.Errorf("unknown channel %q (want EMAIL, SMS or PUSH)", ch)
		}
		if !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no channel given")
	}
	return out, nil
}
