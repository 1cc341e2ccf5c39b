// Command ehr is the EHR service: patients' medical records, the
// encounters, diagnoses, treatment plans and vital signs recorded in them,
// the references pharmacy and lab add, care-based access with break-glass,
// and the audit of every read and change (spec section 2). See README.md.
package main

import (
	"context"
	"time"

	"hospital/lib/api"
	"hospital/lib/appointmentapi"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/userapi"
	"hospital/svc/ehr/httpapi"
	"hospital/svc/ehr/records"
	"hospital/svc/ehr/store"
)

func main() { service.Main("ehr", run) }

func run() error {
	cfg, err := config.Load[records.Config]()
	if err != nil {
		return err
	}
	loc, _ := time.LoadLocation(cfg.ClinicTimezone)
	s, err := service.New(records.ServiceName, cfg.Base)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(startCtx, cfg.MongoURI, cfg.MongoDB, store.Options{Location: loc, Owner: s.InstanceID, Logger: s.Log})
	if err != nil {
		return err
	}
	defer st.Close()

	dispatcher := outbox.New(st.Queue(), s.Client, outbox.Options{
		Registerer: s.Registry, Logger: s.Log, Poll: cfg.OutboxPoll, BackoffMax: cfg.OutboxBackoffMax,
	})
	svc := records.New(st, st.Keys(), userapi.NewClient(s.Client), appointmentapi.NewClient(s.Client), records.Options{
		Location: loc, CareTTL: cfg.CareCacheTTL, UserTTL: cfg.UserCacheTTL, MinReason: cfg.BreakGlassMinReason,
		Kick: dispatcher.Kick, Logger: s.Log,
	})
	return s.Run(context.Background(), service.Spec{
		API:        httpapi.Routes(svc),
		Info:       api.Info{Title: "EHR service", Description: "Medical records, encounters, diagnoses, vital signs and references, with care-based access and an audit of every read and change (spec section 2)."},
		Checks:     map[string]health.Check{"mongodb": st.Ping},
		StoreDown:  mongodb.Unreachable,
		Background: []func(context.Context){dispatcher.Run},
	})
}
