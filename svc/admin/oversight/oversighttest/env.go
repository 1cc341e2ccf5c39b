// Package oversighttest holds what the tests of oversight and httpapi
// share: a Consul agent and the real user service (which issues the admin
// service's token), and an oversight Service over a fresh database. It is
// imported by tests only.
package oversighttest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/apitest"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/settings"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/svc/admin/oversight"
	"hospital/svc/admin/store"
)

// AdminSecret is the admin service's client secret at the user service.
const AdminSecret = "admin-test-secret"

// Clinic is the clinic's zone in the tests.
var Clinic = mustLoc("Asia/Ho_Chi_Minh")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Start is the tests' "now": a Monday morning in the clinic.
var Start = time.Date(2026, 11, 30, 9, 0, 0, 0, Clinic)

// Quiet is a logger that drops everything.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Platform is a Consul agent with the real user service registered in it,
// which knows the admin service as a client.
type Platform struct {
	Consul *testkit.Consul
	Users  *testkit.UserService
}

// SharedPlatform is the platform the tests of one binary share.
var SharedPlatform = testkit.SharedOnce(StartPlatform)

// StartPlatform starts a platform of its own (a test that stops services).
func StartPlatform(t testing.TB) *Platform {
	t.Helper()
	p := &Platform{Consul: testkit.StartConsul(t)}
	p.Users = testkit.StartUserService(t, p.Consul, "admin="+AdminSecret)
	return p
}

// Config is the service's configuration in the tests.
func Config() oversight.Config {
	c := oversight.Config{ClinicTimezone: "Asia/Ho_Chi_Minh", DashboardTimeout: time.Second,
		ConfigSyncInterval: time.Second, TaskPollInterval: 100 * time.Millisecond, ReportInterval: time.Hour,
		ReportMaxDays: 366, AuditBatchMax: 500}
	c.ServiceSecret = AdminSecret
	return c
}

// Env is one admin Service over its own fresh database, on a platform.
type Env struct {
	T        testing.TB
	DB       *sql.DB
	DSN      string
	Store    *store.Store
	Svc      *oversight.Service
	Cfg      oversight.Config
	Clock    *testkit.Clock
	Platform *Platform
	// Client is the admin service's client (its token from the user service).
	Client *svcclient.Client
	// Prefix is this test's own KV prefix for the configuration.
	Prefix    string
	Publisher *settings.Publisher
}

// New starts an Env on the shared platform with cfg (Config() when nil).
func New(t testing.TB, cfg *oversight.Config) *Env {
	t.Helper()
	return NewOn(t, SharedPlatform(t), cfg)
}

// NewOn starts an Env on p.
func NewOn(t testing.TB, p *Platform, cfg *oversight.Config) *Env {
	t.Helper()
	if cfg == nil {
		c := Config()
		cfg = &c
	}
	db, dsn := testkit.NewMySQL(t, store.Migrate)
	e := &Env{T: t, DB: db, DSN: dsn, Store: store.New(db), Cfg: *cfg, Clock: testkit.NewClock(Start), Platform: p,
		Prefix: fmt.Sprintf("test/%s-%d/", t.Name(), time.Now().UnixNano())}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.Client = svcclient.New(oversight.ServiceName, discovery.New(ctx, p.Consul.Client, Quiet), svcclient.Options{Logger: Quiet})
	e.Client.SetTokenSource(svcclient.NewClientCredentials(e.Client, oversight.ServiceName, AdminSecret))
	e.Publisher = settings.NewPublisher(p.Consul.Client, e.Prefix)
	e.Svc = e.Another("admin-test-1")
	return e
}

// Another is one more instance of the service over the same database and
// Consul (named instance, as a task runner).
func (e *Env) Another(instance string) *oversight.Service {
	e.T.Helper()
	svc, err := oversight.New(e.Cfg, oversight.Deps{Store: e.Store, Figures: adminapi.NewClient(e.Client),
		Publisher: e.Publisher, Instance: instance, Now: e.Clock.Now, Logger: Quiet})
	if err != nil {
		e.T.Fatal(err)
	}
	return svc
}

// AsAdmin is a context in which ADMIN user id calls.
func AsAdmin(id int64) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{UserID: id, Role: auth.RoleAdmin, Username: fmt.Sprintf("admin%d", id)})
}

// AsService is a context in which the service name calls.
func AsService(name string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Role: auth.RoleService, Service: name})
}

// Event is an audit event of service, as lib/audit builds it for user
// (with role) acting on patient (0: none).
func Event(service, action string, user int64, role string, patient int64) audit.Event {
	ctx := auth.WithIdentity(context.Background(), auth.Identity{UserID: user, Role: role})
	return audit.New(ctx, service, action).OnPatient(patient)
}

// Ingest sends ev as its own service and fails the test on an error.
func (e *Env) Ingest(ev audit.Event) adminapi.AuditReceipt {
	e.T.Helper()
	r, err := e.Svc.Ingest(AsService(ev.Service), ev)
	if err != nil {
		e.T.Fatalf("ingest %s: %v", ev.Action, err)
	}
	return r
}

// Count runs a COUNT query.
func (e *Env) Count(query string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.DB.QueryRow(query, args...).Scan(&n); err != nil {
		e.T.Fatal(err)
	}
	return n
}

// Expect fails the test unless err is answered with status.
func (e *Env) Expect(what string, err error, status int) {
	e.T.Helper()
	apitest.ExpectStatus(e.T, what, err, status)
}

// DropGuards lets a test change the log the way an intruder with write access
// to the database would: it drops the append-only triggers.
func (e *Env) DropGuards() {
	e.T.Helper()
	if _, err := e.DB.Exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete`); err != nil {
		e.T.Fatal(err)
	}
}
