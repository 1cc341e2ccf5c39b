package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/discovery"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// receiver is a real HTTP server, registered in Consul when asked, that
// records the Idempotency-Key of every request and answers with status().
type receiver struct {
	mu     sync.Mutex
	keys   map[string]int
	status func() int
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{keys: map[string]int{}, status: func() int { return http.StatusCreated }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.keys[req.Header.Get("Idempotency-Key")]++
		st := r.status()
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) register(t *testing.T, c *testkit.Consul, name string) {
	host, portStr, _ := net.SplitHostPort(r.srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	err := c.Client.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: name + "-" + portStr, Name: name, Address: host, Port: port,
		Check: &consul.AgentServiceCheck{TTL: "10m", Status: consul.HealthPassing},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *receiver) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[key]
}

func setup(t *testing.T) (*sql.DB, *testkit.Consul, *svcclient.Client) {
	t.Helper()
	db, _ := testkit.NewMySQL(t, outbox.Migrate)
	c := testkit.StartConsul(t)
	rctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := svcclient.New("tester", discovery.New(rctx, c.Client, quiet),
		svcclient.Options{Logger: quiet, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, BreakerOpenFor: 50 * time.Millisecond})
	return db, c, client
}

func enqueue(t *testing.T, db *sql.DB, keys ...string) {
	t.Helper()
	err := mysqldb.InTx(context.Background(), db, func(tx *sql.Tx) error {
		for _, k := range keys {
			if err := outbox.Enqueue(context.Background(), tx, outbox.Message{
				Key: k, Service: "inbox", Path: "/api/v1/things/", Body: map[string]string{"k": k},
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, d *outbox.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitStatus(t *testing.T, db *sql.DB, key, status string) outbox.Record {
	t.Helper()
	var rec outbox.Record
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		var err error
		rec, err = outbox.Get(ctx, db, key)
		if err != nil {
			return err
		}
		if rec.Status != status {
			return fmt.Errorf("%s is %s (attempts %d, last error %q), want %s", key, rec.Status, rec.Attempts, rec.LastError, status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func fastOpts() outbox.Options {
	return outbox.Options{Logger: quiet, Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
}

func TestPendingUntilReceiverAppearsThenDeliveredOnce(t *testing.T) {
	db, c, client := setup(t)
	enqueue(t, db, "evt-1")
	enqueue(t, db, "evt-1") // the same business event enqueued twice stays one message
	d := outbox.NewDispatcher(db, client, fastOpts())
	run(t, d)

	// No receiver exists: the message is retried, never dropped.
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		rec, err := outbox.Get(ctx, db, "evt-1")
		if err != nil {
			return err
		}
		if rec.Attempts < 2 || rec.Status != outbox.StatusPending {
			return fmt.Errorf("attempts=%d status=%s", rec.Attempts, rec.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	r := newReceiver(t)
	r.register(t, c, "inbox")
	rec := waitStatus(t, db, "evt-1", outbox.StatusDelivered)
	if rec.DeliveredAt == nil || string(rec.Body) != `{"k":"evt-1"}` {
		t.Fatalf("delivered record = %+v", rec)
	}
	if n := r.count("evt-1"); n != 1 {
		t.Fatalf("receiver saw evt-1 %d times, want 1", n)
	}
	var rows int
	_ = db.QueryRow(`SELECT COUNT(*) FROM outbox_messages`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("outbox has %d rows, want 1", rows)
	}
}

func TestTwoDispatchersNeverDeliverTwice(t *testing.T) {
	db, c, client := setup(t)
	r := newReceiver(t)
	r.register(t, c, "inbox")
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = "bulk-" + strconv.Itoa(i)
	}
	enqueue(t, db, keys...)
	run(t, outbox.NewDispatcher(db, client, fastOpts()))
	run(t, outbox.NewDispatcher(db, client, fastOpts()))
	for _, k := range keys {
		waitStatus(t, db, k, outbox.StatusDelivered)
	}
	for _, k := range keys {
		if n := r.count(k); n != 1 {
			t.Fatalf("%s delivered %d times", k, n)
		}
	}
}

func TestRetriesServerErrorsAndStopsOnRefusal(t *testing.T) {
	db, c, client := setup(t)
	r := newReceiver(t)
	calls := 0
	r.status = func() int {
		calls++
		if calls <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	r.register(t, c, "inbox")
	enqueue(t, db, "flaky-1")
	run(t, outbox.NewDispatcher(db, client, fastOpts()))
	rec := waitStatus(t, db, "flaky-1", outbox.StatusDelivered)
	if rec.Attempts != 3 {
		t.Fatalf("attempts = %d, want 3 (two 500s then success)", rec.Attempts)
	}

	r.mu.Lock()
	r.status = func() int { return http.StatusUnprocessableEntity }
	r.mu.Unlock()
	enqueue(t, db, "refused-1")
	rec = waitStatus(t, db, "refused-1", outbox.StatusFailed)
	if rec.LastStatus != http.StatusUnprocessableEntity || rec.Attempts != 1 {
		t.Fatalf("refused record = %+v", rec)
	}
}

func TestRollbackEnqueuesNothing(t *testing.T) {
	db, _, _ := setup(t)
	err := mysqldb.InTx(context.Background(), db, func(tx *sql.Tx) error {
		if err := outbox.Enqueue(context.Background(), tx, outbox.Message{Key: "ghost", Service: "inbox", Path: "/x"}); err != nil {
			return err
		}
		return fmt.Errorf("business rule failed")
	})
	if err == nil {
		t.Fatal("expected the transaction to fail")
	}
	if _, err := outbox.Get(context.Background(), db, "ghost"); err == nil {
		t.Fatal("a rolled-back transaction left an outbox message")
	}
}
