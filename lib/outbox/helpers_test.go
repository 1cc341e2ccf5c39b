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
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/discovery"
	"hospital/lib/mongodb"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/outbox/mongoqueue"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// store is one kind of queue under test, with what the tests need to fill
// and inspect it.
type store interface {
	queue() outbox.Queue
	enqueue(t *testing.T, msgs ...outbox.Message)
	get(ctx context.Context, key string) (outbox.Record, error)
	count(t *testing.T) int
}

// eachStore runs fn against every queue implementation.
func eachStore(t *testing.T, fn func(t *testing.T, s store)) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

var stores = map[string]func(t *testing.T) store{
	"mysql": func(t *testing.T) store {
		db, _ := testkit.NewMySQL(t, outbox.Migrate)
		return mysqlStore{db}
	},
	"mongo": func(t *testing.T) store {
		f := testkit.SharedFerretDB(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		client, err := mongodb.Connect(ctx, f.URI, "outbox-test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
		db := client.Database(f.NewDatabase(t))
		q := mongoqueue.New(db, mongoqueue.Options{Logger: quiet})
		if err := q.EnsureIndexes(ctx); err != nil {
			t.Fatal(err)
		}
		return mongoStore{q, db}
	},
}

type mongoStore struct {
	q  *mongoqueue.Queue
	db *mongo.Database
}

func (s mongoStore) queue() outbox.Queue { return s.q }

func (s mongoStore) enqueue(t *testing.T, msgs ...outbox.Message) {
	t.Helper()
	if err := s.q.Enqueue(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func (s mongoStore) get(ctx context.Context, key string) (outbox.Record, error) {
	return s.q.Get(ctx, key)
}

func (s mongoStore) count(t *testing.T) int {
	n, err := s.db.Collection(mongoqueue.MessagesCollection).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

type mysqlStore struct{ db *sql.DB }

func (s mysqlStore) queue() outbox.Queue { return outbox.NewMySQLQueue(s.db) }

func (s mysqlStore) enqueue(t *testing.T, msgs ...outbox.Message) {
	t.Helper()
	err := mysqldb.InTx(context.Background(), s.db, func(tx *sql.Tx) error {
		for _, m := range msgs {
			if err := outbox.Enqueue(context.Background(), tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s mysqlStore) get(ctx context.Context, key string) (outbox.Record, error) {
	return outbox.Get(ctx, s.db, key)
}

func (s mysqlStore) count(t *testing.T) int {
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM outbox_messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// msg is a message to target with key k.
func msg(target, k string) outbox.Message {
	return outbox.Message{Key: k, Service: target, Path: "/api/v1/things/", Body: map[string]string{"k": k}}
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

func msgs(target string, ks []string) []outbox.Message {
	out := make([]outbox.Message, len(ks))
	for i, k := range ks {
		out[i] = msg(target, k)
	}
	return out
}

// receiver is a real HTTP server, registered in Consul when asked, that
// records the Idempotency-Key of every request and answers with status().
type receiver struct {
	mu     sync.Mutex
	keys   map[string]int
	calls  int
	status func() int
	block  chan struct{} // when not nil, requests wait for it to close
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{keys: map[string]int{}, status: func() int { return http.StatusCreated }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		block := r.block
		r.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-req.Context().Done():
				return
			}
		}
		r.mu.Lock()
		r.keys[req.Header.Get("Idempotency-Key")]++
		r.calls++
		st := r.status()
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(func() {
		r.unblock()
		r.srv.Close()
	})
	return r
}

func (r *receiver) setStatus(fn func() int) {
	r.mu.Lock()
	r.status = fn
	r.mu.Unlock()
}

func (r *receiver) unblock() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.block != nil {
		close(r.block)
		r.block = nil
	}
}

func (r *receiver) register(t *testing.T, c *testkit.Consul, name string) {
	t.Helper()
	registerAt(t, c, name, r.srv.Listener.Addr().String())
}

func registerAt(t *testing.T, c *testkit.Consul, name, addr string) {
	t.Helper()
	host, portStr, _ := net.SplitHostPort(addr)
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

// world is Consul, a resolver and a client, as a service has them.
type world struct {
	consul   *testkit.Consul
	resolver *discovery.Resolver
	client   *svcclient.Client
}

func newWorld(t *testing.T, opts svcclient.Options) world {
	t.Helper()
	c := testkit.StartConsul(t)
	rctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res := discovery.New(rctx, c.Client, quiet)
	opts.Logger = quiet
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin, opts.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	}
	if opts.BreakerOpenFor == 0 {
		opts.BreakerOpenFor = 50 * time.Millisecond
	}
	return world{consul: c, resolver: res, client: svcclient.New("tester", res, opts)}
}

func run(t *testing.T, d *outbox.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func fastOpts() outbox.Options {
	return outbox.Options{Logger: quiet, Poll: 20 * time.Millisecond, BackoffBase: 20 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond, HousekeepEvery: 100 * time.Millisecond}
}

// waitFor polls the record of key until ok accepts it.
func waitFor(t *testing.T, s store, key string, timeout time.Duration, ok func(outbox.Record) error) outbox.Record {
	t.Helper()
	var rec outbox.Record
	err := testkit.Until(context.Background(), timeout, nil, func(ctx context.Context) error {
		var err error
		if rec, err = s.get(ctx, key); err != nil {
			return err
		}
		return ok(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func waitStatus(t *testing.T, s store, key, status string) outbox.Record {
	t.Helper()
	return waitFor(t, s, key, 30*time.Second, func(rec outbox.Record) error {
		if rec.Status != status {
			return fmt.Errorf("%s is %s (attempts %d, last error %q), want %s", key, rec.Status, rec.Attempts, rec.LastError, status)
		}
		return nil
	})
}
