// Command notification is the Notification service: templates, durable
// delivery by email, SMS and push, and the delivery log (spec section 7).
// See README.md for its settings.
package main

import (
	"context"
	"time"

	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/leader"
	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/settings"
	"hospital/svc/notification/channels"
	"hospital/svc/notification/httpapi"
	"hospital/svc/notification/notify"
	"hospital/svc/notification/store"
)

func main() { service.Main("notification", run) }

func run() error {
	cfg, err := config.Load[notify.Config]()
	if err != nil {
		return err
	}
	s, err := service.New("notification", cfg.Base)
	if err != nil {
		return err
	}
	if cfg.ServiceSecret == "" {
		s.Log.Warn("SERVICE_SECRET is not set: contact info cannot be read from the user service")
	}
	senders, closeSenders, err := channels.Build(channels.FromConfig(cfg), s.Log)
	if err != nil {
		return err
	}
	defer closeSenders()

	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	db, err := store.Open(startCtx, cfg.MongoURI, cfg.MongoDB, s.InstanceID, s.Log)
	if err != nil {
		return err
	}
	defer db.Close(context.Background())
	// Audit events go to the admin service through the outbox.
	dispatcher := outbox.New(db.Queue(), s.Client, outbox.Options{
		Registerer: s.Registry, Logger: s.Log, Poll: cfg.OutboxPoll, BackoffMax: cfg.OutboxBackoffMax,
	})

	// The attempts follow the admin service's configuration live; the
	// environment's value until it sets them.
	live := settings.NewWatcher(s.Consul, settings.Options{Logger: s.Log})
	maxAttempts := settings.Watch(live, settings.NotificationMaxAttempts, cfg.MaxAttempts)
	wopts := cfg.WorkerOptions()
	wopts.Instance, wopts.Registerer, wopts.Logger = s.InstanceID, s.Registry, s.Log
	wopts.LiveMaxAttempts = maxAttempts.Get
	worker := notify.NewWorker(db, senders, wopts)
	opts := cfg.Options()
	opts.Logger = s.Log
	svc := notify.New(db, notify.NewDirectory(s.Client), worker, opts)

	// The retention job runs on one instance: at once when it starts
	// leading, then every HOUSEKEEPING_INTERVAL.
	housekeeper := &leader.Election{Consul: s.Consul, Key: "service/notification/housekeeping-leader",
		Name: "notification housekeeping", Logger: s.Log}
	housekeeping := func(ctx context.Context) {
		if err := svc.Housekeep(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("notification housekeeping failed", "err", err.Error())
		}
		service.Every(cfg.HousekeepingEvery, s.Log, "notification housekeeping", svc.Housekeep)(ctx)
	}

	return s.Run(context.Background(), service.Spec{
		API:       httpapi.Routes(svc),
		Info:      api.Info{Title: "Notification service", Description: "Templates, durable delivery by email, SMS and push, and the delivery log."},
		Checks:    map[string]health.Check{"mongodb": db.Ping, "settings": live.Check},
		StoreDown: mongodb.Unreachable,
		Background: []func(context.Context){
			worker.Run,
			dispatcher.Run,
			live.Run,
			func(ctx context.Context) { housekeeper.Run(ctx, housekeeping) },
		},
	})
}
