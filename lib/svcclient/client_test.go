package svcclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/sony/gobreaker/v2"

	"hospital/lib/discovery"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// upstream is a real HTTP server registered in a real Consul agent.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int32
	id   string
}

func register(t *testing.T, c *testkit.Consul, service string, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(u.srv.Close)
	host, portStr, _ := net.SplitHostPort(u.srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	u.id = service + "-" + portStr
	err := c.Client.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: u.id, Name: service, Address: host, Port: port,
		Check: &consul.AgentServiceCheck{TTL: "10m", Status: consul.HealthPassing},
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newClient(t *testing.T, c *testkit.Consul, opts svcclient.Options) (*svcclient.Client, *discovery.Resolver) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res := discovery.New(ctx, c.Client, quiet)
	opts.Logger = quiet
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin, opts.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	}
	return svcclient.New("tester", res, opts), res
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func TestBreakerTripsOn5xxNotOn4xx(t *testing.T) {
	c := testkit.StartConsul(t)
	bad := register(t, c, "flaky", status(http.StatusInternalServerError))
	client, _ := newClient(t, c, svcclient.Options{BreakerFailures: 3, BreakerOpenFor: time.Minute})
	ctx := context.Background()

	// 4xx answers are the caller's fault: they never open the breaker.
	notFound := register(t, c, "strict", status(http.StatusNotFound))
	for range 10 {
		resp, err := client.Do(ctx, svcclient.Request{Service: "strict", Method: http.MethodGet, Path: "/x"})
		if err != nil || resp.Status != http.StatusNotFound {
			t.Fatalf("4xx call: %v %v", resp, err)
		}
	}
	if st := client.BreakerState("strict"); st != gobreaker.StateClosed {
		t.Fatalf("breaker after 10 x 404 = %s, want closed", st)
	}
	if notFound.hits.Load() != 10 {
		t.Fatalf("404s were retried: %d hits for 10 calls", notFound.hits.Load())
	}

	// 500s count: after three the breaker opens and calls fail fast.
	for range 3 {
		resp, err := client.Do(ctx, svcclient.Request{Service: "flaky", Method: http.MethodPost, Path: "/x"})
		if err != nil || resp.Status != http.StatusInternalServerError {
			t.Fatalf("5xx call: %v %v", resp, err)
		}
	}
	if st := client.BreakerState("flaky"); st != gobreaker.StateOpen {
		t.Fatalf("breaker after 3 x 500 = %s, want open", st)
	}
	before := bad.hits.Load()
	_, err := client.Do(ctx, svcclient.Request{Service: "flaky", Method: http.MethodGet, Path: "/x"})
	var ue *svcclient.UnavailableError
	if !errors.As(err, &ue) || ue.RetryAfter != time.Minute {
		t.Fatalf("open breaker error = %v, want UnavailableError with RetryAfter 1m", err)
	}
	if bad.hits.Load() != before {
		t.Fatal("open breaker still sent the request")
	}
}

func TestCancellationDoesNotTripBreaker(t *testing.T) {
	c := testkit.StartConsul(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	register(t, c, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	client, res := newClient(t, c, svcclient.Options{BreakerFailures: 2})
	if _, err := res.Instances(context.Background(), "slow"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := client.Do(ctx, svcclient.Request{Service: "slow", Method: http.MethodGet, Path: "/"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
	if st := client.BreakerState("slow"); st != gobreaker.StateClosed {
		t.Fatalf("breaker after cancelled calls = %s, want closed", st)
	}
}

func TestRetriesOnlyWhatIsSafe(t *testing.T) {
	c := testkit.StartConsul(t)
	u := register(t, c, "busy", status(http.StatusServiceUnavailable))
	client, _ := newClient(t, c, svcclient.Options{RetryMax: 2, BreakerFailures: 100})
	ctx := context.Background()

	call := func(method, key string) int32 {
		before := u.hits.Load()
		resp, err := client.Do(ctx, svcclient.Request{Service: "busy", Method: method, Path: "/", Body: []byte(`{}`), IdempotencyKey: key})
		if err != nil || resp.Status != http.StatusServiceUnavailable {
			t.Fatalf("%s: %v %v", method, resp, err)
		}
		return u.hits.Load() - before
	}
	if n := call(http.MethodGet, ""); n != 3 {
		t.Errorf("GET attempts = %d, want 3 (1 + 2 retries)", n)
	}
	if n := call(http.MethodPut, ""); n != 3 {
		t.Errorf("PUT attempts = %d, want 3", n)
	}
	if n := call(http.MethodPost, ""); n != 1 {
		t.Errorf("POST without Idempotency-Key attempts = %d, want 1", n)
	}
	if n := call(http.MethodPost, "k-1"); n != 3 {
		t.Errorf("POST with Idempotency-Key attempts = %d, want 3", n)
	}
}

func TestRetryGoesToAnotherInstance(t *testing.T) {
	c := testkit.StartConsul(t)
	down := register(t, c, "pair", status(http.StatusServiceUnavailable))
	up := register(t, c, "pair", status(http.StatusOK))
	client, res := newClient(t, c, svcclient.Options{RetryMax: 1})
	if err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		inst, _ := res.Instances(ctx, "pair")
		if len(inst) != 2 {
			return errors.New("waiting for both instances")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		resp, err := client.Do(context.Background(), svcclient.Request{Service: "pair", Method: http.MethodGet, Path: "/"})
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("GET through a bad instance: %v %v", resp, err)
		}
	}
	if down.hits.Load() == 0 || up.hits.Load() < 6 {
		t.Fatalf("hits down=%d up=%d: round-robin or retry-elsewhere is broken", down.hits.Load(), up.hits.Load())
	}
}

func TestPropagatesHeadersAndToken(t *testing.T) {
	c := testkit.StartConsul(t)
	got := make(chan http.Header, 1)
	register(t, c, "echo", func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	})
	client, _ := newClient(t, c, svcclient.Options{})
	client.SetTokenSource(tokenFunc(func(context.Context) (string, error) { return "svc-token", nil }))
	err := client.JSON(context.Background(), "echo", http.MethodPost, "/", map[string]int{"a": 1}, nil,
		svcclient.WithIdempotencyKey("idem-1"))
	if err != nil {
		t.Fatal(err)
	}
	h := <-got
	if h.Get("Authorization") != "Bearer svc-token" || h.Get("Idempotency-Key") != "idem-1" ||
		h.Get("X-Caller-Service") != "tester" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", h)
	}
}

type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

func TestNoInstancesIsUnavailable(t *testing.T) {
	c := testkit.StartConsul(t)
	client, _ := newClient(t, c, svcclient.Options{})
	start := time.Now()
	_, err := client.Do(context.Background(), svcclient.Request{Service: "ghost", Method: http.MethodGet, Path: "/"})
	var ue *svcclient.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, discovery.ErrNoInstances) {
		t.Fatalf("err = %v, want UnavailableError(no instances)", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s to report an absent service", time.Since(start))
	}
}
