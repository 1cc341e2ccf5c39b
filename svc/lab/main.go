// Command lab is the Laboratory service: the test catalog with reference
// ranges, lab orders, the sample-to-result workflow, computed flags and the
// doctor's release of results (spec section 6). See README.md.
package main

import (
	"context"
	"time"

	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/userapi"
	"hospital/svc/lab/httpapi"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/store"
)

var apiInfo = api.Info{Title: "Laboratory", Description: "Lab test catalog, orders, results and their release."}

func main() { service.Main("lab", run) }

func run() error {
	cfg, err := config.Load[laboratory.Config]()
	if err != nil {
		return err
	}
	loc, _ := time.LoadLocation(cfg.ClinicTimezone)
	s, err := service.New(laboratory.ServiceName, cfg.Base)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(startCtx, cfg.MongoURI, cfg.MongoDB, s.InstanceID, s.Log)
	if err != nil {
		return err
	}
	defer st.Close()

	dispatcher := outbox.New(st.Queue(), s.Client, outbox.Options{
		Registerer: s.Registry, Logger: s.Log, Poll: cfg.OutboxPoll, BackoffMax: cfg.OutboxBackoffMax,
	})
	svc := laboratory.New(st, userapi.NewClient(s.Client), laboratory.Options{
		Location: loc, MaxItems: cfg.MaxItemsPerOrder, UserTTL: cfg.UserCacheTTL, Logger: s.Log,
	})
	purge := service.Every(time.Hour, s.Log, "idempotency keys", func(ctx context.Context) error {
		_, err := st.PurgeKeys(ctx, cfg.IdempotencyRetention)
		return err
	})
	return s.Run(context.Background(), service.Spec{
		API:        httpapi.Routes(svc),
		Info:       apiInfo,
		Checks:     map[string]health.Check{"mongodb": mongodb.Ping(st.Client())},
		StoreDown:  mongodb.Unreachable,
		Background: []func(context.Context){dispatcher.Run, purge},
	})
}
