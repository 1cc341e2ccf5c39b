// Command appointment is the Appointment service: doctor schedules,
// availability, booking, the appointment lifecycle and reminders (spec
// section 3). See README.md for its settings.
package main

import (
	"context"
	"time"

	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/leader"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/settings"
	"hospital/lib/userapi"
	"hospital/svc/appointment/booking"
	"hospital/svc/appointment/httpapi"
	"hospital/svc/appointment/store"
)

func main() { service.Main("appointment", run) }

func run() error {
	cfg, err := config.Load[booking.Config]()
	if err != nil {
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
	// The fee and the reminder offset follow the admin service's
	// configuration live; the environment's values until it sets them.
	live := settings.NewWatcher(s.Consul, settings.Options{Logger: s.Log})
	fee := settings.Watch(live, settings.ConsultationFee, cfg.Fee())
	offset := settings.Watch(live, settings.ReminderBefore, cfg.ReminderBefore)
	svc, err := booking.New(cfg, booking.Deps{
		Store: st, Users: userapi.NewClient(s.Client), Kick: dispatcher.Kick, Fee: fee.Get,
	})
	if err != nil {
		return err
	}
	reminders := &booking.Reminders{Service: svc, Before: cfg.ReminderBefore, Offset: offset.Get, Interval: cfg.ReminderInterval, Logger: s.Log}
	// Reminders run on one instance at a time.
	reminderLeader := &leader.Election{Consul: s.Consul, Key: booking.ReminderLeaderKey, Name: "appointment reminders", Logger: s.Log}

	return s.Run(context.Background(), service.Spec{
		API:       httpapi.Routes(svc),
		Info:      api.Info{Title: "Appointment service", Description: "Schedules, availability, booking and the appointment lifecycle (spec section 3)."},
		Checks:    map[string]health.Check{"mysql": mysqldb.Ping(st.DB()), "settings": live.Check},
		StoreDown: mysqldb.Unreachable,
		Background: []func(context.Context){
			dispatcher.Run,
			live.Run,
			func(ctx context.Context) { reminderLeader.Run(ctx, reminders.Run) },
		},
	})
}
