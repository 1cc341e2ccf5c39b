// Package notifytest starts what the notification service's tests run
// against: a database on the shared FerretDB, Mailpit for SMTP, the real
// user service (in a Consul agent of its own) for contact info, the
// service and its worker, and an HTTP server with the service's routes.
package notifytest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/middleware"
	"hospital/lib/mongodb"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/svc/notification/channels"
	"hospital/svc/notification/httpapi"
	"hospital/svc/notification/notify"
	"hospital/svc/notification/store"
)

// Env is one service instance on a database of its own.
type Env struct {
	T       testing.TB
	Svc     *notify.Service
	Store   *store.Store
	DBName  string
	Mail    *testkit.Mailpit
	SMS     *channels.Sink
	Push    *channels.Sink
	Senders notify.Senders
	Users   *Users
	Patient int64 // the users' Lan: email and phone
	Doctor  int64 // the users' Binh: email only
	Worker  *notify.Worker
	// StopWork stops the worker (a no-op with NoWorker).
	StopWork func()
	// URL is the HTTP server with the service's routes.
	URL    string
	signer *auth.Signer
}

// Config varies an Env.
type Config struct {
	Worker   notify.WorkerOptions
	Options  notify.Options
	NoWorker bool
	// OwnUsers gives the test a user service of its own, which it may stop.
	OwnUsers bool
	// Logger receives the service's and the worker's log lines.
	Logger *slog.Logger
}

// New starts an Env.
func New(t testing.TB, cfgs ...Config) *Env {
	t.Helper()
	var cfg Config
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	e := &Env{T: t}
	e.DBName = testkit.SharedFerretDB(t).NewDatabase(t)
	e.Store = e.NewStore("test")
	if err := e.Store.Init(context.Background(), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	e.Mail = testkit.StartMailpit(t)
	smtp, err := channels.NewSMTPSender(channels.SMTPConfig{Addr: e.Mail.SMTPAddr, From: "Bệnh viện <no-reply@hospital.test>", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(smtp.Close)
	e.SMS, e.Push = channels.NewSink("SMS", nil), channels.NewSink("PUSH", nil)
	e.Senders = notify.Senders{"EMAIL": smtp, "SMS": e.SMS, "PUSH": e.Push}
	if cfg.OwnUsers {
		e.Users = startUsers(t)
	} else {
		e.Users = sharedUsers(t)
	}
	e.Patient, e.Doctor = e.Users.Patient, e.Users.Doctor
	if cfg.Logger != nil {
		cfg.Worker.Logger, cfg.Options.Logger = cfg.Logger, cfg.Logger
	}
	e.Worker = e.NewWorker(e.Store, cfg.Worker)
	// Contacts come from the user service, found in its Consul and called
	// with this service's token, as in production.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := svcclient.New("notification", discovery.New(ctx, e.Users.Consul.Client, slog.Default()), svcclient.Options{})
	client.SetTokenSource(svcclient.NewClientCredentials(client, "notification", NotificationSecret))
	opts := cfg.Options
	if opts.UrgentHold == 0 {
		opts.UrgentHold = time.Minute
	}
	e.Svc = notify.New(e.Store, notify.NewDirectory(client), e.Worker, opts)

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	e.signer = auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{
		Verifier:  auth.NewVerifier(e.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience),
		StoreDown: mongodb.Unreachable,
	})
	if err != nil {
		t.Fatal(err)
	}
	// As the service serves it: panics answered 500, request ids.
	srv := httptest.NewServer(middleware.Recover(middleware.RequestID(h)))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	e.StopWork = func() {}
	if !cfg.NoWorker {
		e.StopWork = RunWorker(t, e.Worker)
	}
	return e
}

// NewStore is another connection to the Env's database, as another
// instance has; owner names it in claims.
func (e *Env) NewStore(owner string) *store.Store {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongodb.Connect(ctx, testkit.SharedFerretDB(e.T).URI, "notification-test")
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return store.New(c, e.DBName, owner, nil)
}

// DB is the Env's database, for assertions on what is stored.
func (e *Env) DB() *mongo.Database {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongodb.Connect(ctx, testkit.SharedFerretDB(e.T).URI, "notification-test")
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(e.DBName)
}

// WorkerOptions are quick retries for tests, with o's settings on top.
func WorkerOptions(o notify.WorkerOptions) notify.WorkerOptions {
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = 50 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 200 * time.Millisecond
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Second
	}
	if o.SendTimeout == 0 {
		o.SendTimeout = 5 * time.Second
	}
	if o.Instance == "" {
		o.Instance = "worker-1"
	}
	return o
}

// NewWorker is a worker on st with the Env's senders.
func (e *Env) NewWorker(st *store.Store, o notify.WorkerOptions) *notify.Worker {
	return notify.NewWorker(st, e.Senders, WorkerOptions(o))
}

// RunWorker runs w until the returned stop is called (or the test ends).
func RunWorker(t testing.TB, w *notify.Worker) (stop func()) {
	cancel, done := StartWorker(t, w)
	return func() { cancel(); <-done }
}

// StartWorker runs w until cancel; done closes once it has stopped (its
// last round recorded, its reservations handed back). It is stopped when t
// ends.
func StartWorker(t testing.TB, w *notify.Worker) (cancel func(), done <-chan struct{}) {
	ctx, stop := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() { w.Run(ctx); close(finished) }()
	t.Cleanup(func() { stop(); <-finished })
	return stop, finished
}

// Identities the tests act as.
var (
	Admin = auth.Identity{UserID: 1, Role: auth.RoleAdmin, Username: "admin"}
)

// Identity is a signed-in patient's identity.
func Identity(userID int64) auth.Identity {
	return auth.Identity{UserID: userID, Role: auth.RolePatient, Username: "patient"}
}

// Service is the identity of a service token.
func Service(name string) auth.Identity { return auth.Identity{Role: auth.RoleService, Service: name} }

// As is a context carrying id, as the route table leaves it for the domain.
func As(id auth.Identity) context.Context { return auth.WithIdentity(context.Background(), id) }

// Token is a bearer token for id, accepted by the Env's server.
func (e *Env) Token(id auth.Identity) string {
	e.T.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	tok, err := e.signer.Sign(id, time.Hour, hex.EncodeToString(b[:]))
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// Log is the stored log id, with its content when it keeps one.
func (e *Env) Log(id string) notify.Log {
	e.T.Helper()
	l, err := e.Store.GetLog(context.Background(), id)
	if err != nil {
		e.T.Fatalf("log %s: %v", id, err)
	}
	return e.withContent(l)
}

func (e *Env) withContent(l notify.Log) notify.Log {
	e.T.Helper()
	if !l.HasContent {
		return l
	}
	c, err := e.Store.Contents(context.Background(), []string{l.ID})
	if err != nil {
		e.T.Fatalf("content of log %s: %v", l.ID, err)
	}
	l.Content = c[l.ID]
	return l
}

// WaitLog waits until log id satisfies cond and returns it, with its
// content.
func (e *Env) WaitLog(id, what string, cond func(notify.Log) bool) notify.Log {
	e.T.Helper()
	var l notify.Log
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		var err error
		if l, err = e.Store.GetLog(ctx, id); err != nil {
			return err
		}
		if !cond(l) {
			return fmt.Errorf("log %s is %s (attempts %d): not yet %s", id, l.Status, l.Attempts, what)
		}
		return nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return e.withContent(l)
}

// Sent is a WaitLog condition.
func Sent(l notify.Log) bool { return l.Status == notify.StatusSent }

// CountLogs counts the logs matching f.
func (e *Env) CountLogs(f notify.LogFilter) int {
	e.T.Helper()
	f.Limit = 1
	_, n, err := e.Store.ListLogs(context.Background(), f)
	if err != nil {
		e.T.Fatal(err)
	}
	return n
}

// WaitAllSent waits until no log is PENDING.
func (e *Env) WaitAllSent() {
	e.T.Helper()
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		if n := e.CountLogs(notify.LogFilter{Status: notify.StatusPending}); n > 0 {
			return fmt.Errorf("%d logs still PENDING", n)
		}
		return nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
}
