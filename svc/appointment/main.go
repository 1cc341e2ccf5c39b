// Command appointment is the Appointment service: doctor schedules,
// availability, booking, the appointment lifecycle and reminders (spec
// section 3). See README.md for its settings.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/leader"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/userapi"
	"hospital/svc/appointment/booking"
	"hospital/svc/appointment/httpapi"
	"hospital/svc/appointment/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "appointment:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load[booking.Config]()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	s, err := service.New(booking.ServiceName, cfg.Base)
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
	svc, err := booking.New(cfg, booking.Deps{
		Store: st, Users: userapi.NewClient(s.Client), Kick: dispatcher.Kick,
	})
	if err != nil {
		return err
	}
	reminders := &booking.Reminders{Service: svc, Before: cfg.ReminderBefore, Interval: cfg.ReminderInterval, Logger: s.Log}
	// Reminders run on one instance at a time.
	reminderLeader := &leader.Election{Consul: s.Consul, Key: booking.ReminderLeaderKey, Name: "appointment reminders", Logger: s.Log}

	return s.Run(context.Background(), service.Spec{
		API:       httpapi.Routes(svc),
		Info:      api.Info{Title: "Appointment service", Description: "Schedules, availability, booking and the appointment lifecycle (spec section 3)."},
		Checks:    map[string]health.Check{"mysql": mysqldb.Ping(st.DB())},
		StoreDown: mysqldb.Unreachable,
		Background: []func(context.Context){
			dispatcher.Run,
			func(ctx context.Context) { reminderLeader.Run(ctx, reminders.Run) },
		},
	})
}
