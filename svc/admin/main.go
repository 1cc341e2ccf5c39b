// Command admin is the Admin service: the platform's audit log, its live
// system configuration, the dashboard over every service and the batch
// tasks (spec section 8). See README.md for its settings.
package main

import (
	"context"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/leader"
	"hospital/lib/mysqldb"
	"hospital/lib/service"
	"hospital/lib/settings"
	"hospital/svc/admin/httpapi"
	"hospital/svc/admin/oversight"
	"hospital/svc/admin/store"
)

// TaskLockKey is the Consul KV key whose lock elects the task runner.
const TaskLockKey = "service/admin/tasks-leader"

func main() { service.Main("admin", run) }

func run() error {
	cfg, err := config.Load[oversight.Config]()
	if err != nil {
		return err
	}
	s, err := service.New(oversight.ServiceName, cfg.Base)
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

	svc, err := oversight.New(cfg, oversight.Deps{
		Store: st, Figures: adminapi.NewClient(s.Client), Publisher: settings.NewPublisher(s.Consul, ""),
		Instance: s.InstanceID, Logger: s.Log,
	})
	if err != nil {
		return err
	}
	tasks := &leader.Election{Consul: s.Consul, Key: TaskLockKey, Name: "admin task runner", Logger: s.Log}

	return s.Run(context.Background(), service.Spec{
		API:       httpapi.Routes(svc),
		Info:      api.Info{Title: "Admin service", Description: "Audit log, system configuration, dashboard and batch tasks (spec section 8)."},
		Checks:    map[string]health.Check{"mysql": mysqldb.Ping(st.DB())},
		StoreDown: mysqldb.Unreachable,
		Background: []func(context.Context){
			func(ctx context.Context) {
				// Publish at once what a previous run left unpublished, then keep checking.
				if err := svc.SyncConfigurations(ctx); err != nil && ctx.Err() == nil {
					s.Log.Warn("configuration sync failed", "err", err.Error())
				}
				service.Every(cfg.ConfigSyncInterval, s.Log, "configuration sync", svc.SyncConfigurations)(ctx)
			},
			func(ctx context.Context) { tasks.Run(ctx, svc.RunTasks) },
		},
	})
}
