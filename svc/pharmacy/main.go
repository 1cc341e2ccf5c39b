// Command pharmacy is the Prescription & Pharmacy service: the medication
// catalog, prescriptions with allergy checks, verification, dispensing from
// stock by batch (first expiry first out) that never oversells, the stock
// card and low-stock alerts (spec section 4). See README.md.
package main

import (
	"context"
	"time"

	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/ehrapi"
	"hospital/lib/health"
	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/settings"
	"hospital/lib/userapi"
	"hospital/svc/pharmacy/dispensing"
	"hospital/svc/pharmacy/httpapi"
	"hospital/svc/pharmacy/store"
)

func main() { service.Main("pharmacy", run) }

func run() error {
	cfg, err := config.Load[dispensing.Config]()
	if err != nil {
		return err
	}
	s, err := service.New(dispensing.ServiceName, cfg.Base)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(startCtx, cfg.MongoURI, cfg.MongoDB, store.Options{
		Owner: s.InstanceID, KeyAbandoned: cfg.DispenseLease + 5*time.Second, Logger: s.Log,
	})
	if err != nil {
		return err
	}
	defer st.Close()

	// The window of "expiring soon" follows the admin service's
	// configuration live; the environment's value until it sets one.
	live := settings.NewWatcher(s.Consul, settings.Options{Logger: s.Log})
	expiryDays := settings.Watch(live, settings.PharmacyExpiryWarningDays, cfg.ExpiryWarningDays)
	users := userapi.NewClient(s.Client)
	svc, err := dispensing.New(cfg, dispensing.Deps{
		Store: st, Users: users, Roster: users, EHR: ehrapi.NewClient(s.Client), Logger: s.Log,
		ExpiryWarningDays: expiryDays.Get,
	})
	if err != nil {
		return err
	}
	st.OnDelivered(svc.Delivered)
	dispatcher := outbox.New(st.Outbox(), s.Client, outbox.Options{
		Registerer: s.Registry, Logger: s.Log, Poll: cfg.OutboxPoll, BackoffMax: cfg.OutboxBackoffMax,
	})

	// The recovery and the write-off are safe on every instance at once: a
	// dispense is settled under its lease, and a write-off finds nothing
	// left to write off.
	background := []func(context.Context){dispatcher.Run, live.Run,
		service.Every(cfg.RecoveryInterval, s.Log, "recovering interrupted dispenses", func(ctx context.Context) error {
			_, err := svc.RecoverDispenses(ctx)
			return err
		})}
	if cfg.WriteOffInterval > 0 {
		background = append(background, service.Every(cfg.WriteOffInterval, s.Log, "writing off expired batches", func(ctx context.Context) error {
			_, err := svc.WriteOffExpired(ctx)
			return err
		}))
	}
	return s.Run(context.Background(), service.Spec{
		API: httpapi.Routes(svc),
		Info: api.Info{Title: "Prescription & Pharmacy service",
			Description: "Medication catalog, prescriptions with allergy checks, verification, FEFO dispensing, stock by batch and its stock card (spec section 4)."},
		Checks:     map[string]health.Check{"mongodb": mongodb.Ping(st.Client()), "settings": live.Check},
		StoreDown:  mongodb.Unreachable,
		Background: background,
	})
}
