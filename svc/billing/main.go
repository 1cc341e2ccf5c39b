// Command billing is the Billing & Insurance service: invoices from
// appointments, dispenses and lab orders, card and counter payments,
// insurance policies and claims (spec section 5). See README.md.
package main

import (
	"context"
	"time"

	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/leader"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/settings"
	"hospital/lib/userapi"
	"hospital/svc/billing/httpapi"
	"hospital/svc/billing/invoicing"
	"hospital/svc/billing/store"
	"hospital/svc/billing/stripepay"
)

func main() { service.Main("billing", run) }

func run() error {
	cfg, err := config.Load[invoicing.Config]()
	if err != nil {
		return err
	}
	loc, _ := time.LoadLocation(cfg.ClinicTimezone)
	currency, _ := invoicing.CurrencyFor(cfg.Currency)
	s, err := service.New(invoicing.ServiceName, cfg.Base)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(startCtx, cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer st.Close()

	dispatcher := outbox.NewDispatcher(st.DB(), s.Client, outbox.Options{
		Registerer: s.Registry, Logger: s.Log, Poll: cfg.OutboxPoll, BackoffMax: cfg.OutboxBackoffMax,
	})
	// The due days follow the admin service's configuration live; the
	// environment's value until it sets them.
	live := settings.NewWatcher(s.Consul, settings.Options{Logger: s.Log})
	dueDays := settings.Watch(live, settings.InvoiceDueDays, cfg.InvoiceDueDays)
	svc := invoicing.New(st, stripepay.New(cfg.StripeSecretKey, cfg.StripeAPIBase, cfg.StripeTimeout), userapi.NewClient(s.Client),
		invoicing.Options{Location: loc, DueDays: dueDays.Get, Currency: currency, Kick: dispatcher.Kick, Logger: s.Log})

	// The scheduled jobs run on one instance at a time (both are also safe
	// if two ran at once).
	jobs := &leader.Election{Consul: s.Consul, Key: "service/billing/jobs-leader", Name: "billing jobs", Logger: s.Log}
	overdue := service.Every(cfg.OverdueInterval, s.Log, "overdue invoices", func(ctx context.Context) error {
		_, err := svc.MarkOverdue(ctx)
		return err
	})
	settler := service.Every(cfg.PendingInterval, s.Log, "pending card payments", func(ctx context.Context) error {
		_, err := svc.SettlePending(ctx, cfg.PendingAfter)
		return err
	})
	return s.Run(context.Background(), service.Spec{
		API:       httpapi.Routes(svc),
		Info:      apiInfo,
		Checks:    map[string]health.Check{"mysql": mysqldb.Ping(st.DB()), "settings": live.Check},
		StoreDown: mysqldb.Unreachable,
		Background: []func(context.Context){dispatcher.Run, live.Run, func(ctx context.Context) {
			jobs.Run(ctx, func(ctx context.Context) { go overdue(ctx); settler(ctx) })
		}},
	})
}
