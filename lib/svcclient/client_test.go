package svcclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
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

func call(t *testing.T, client *svcclient.Client, service, method, path string) int {
	t.Helper()
	resp, err := client.Do(context.Background(), svcclient.Request{Service: service, Method: method, Path: path})
	if err != nil {
		t.Fatalf("%s %s %s: %v", service, method, path, err)
	}
	return resp.Status
}

func TestBreakerCountsServiceHealthNotAnswers(t *testing.T) {
	c := testkit.StartConsul(t)
	client, _ := newClient(t, c, svcclient.Options{BreakerFailures: 3, BreakerOpenFor: time.Minute})

	// 4xx answers are the caller's fault and 500s are one request's
	// failure: neither opens the breaker, however many.
	notFound := register(t, c, "strict", status(http.StatusNotFound))
	broken := register(t, c, "buggy", status(http.StatusInternalServerError))
	for range 10 {
		if st := call(t, client, "strict", http.MethodGet, "/x"); st != http.StatusNotFound {
			t.Fatalf("4xx call: %d", st)
		}
		if st := call(t, client, "buggy", http.MethodPost, "/x"); st != http.StatusInternalServerError {
			t.Fatalf("500 call: %d", st)
		}
	}
	for _, svc := range []string{"strict", "buggy"} {
		if st := client.BreakerState(svc); st != gobreaker.StateClosed {
			t.Fatalf("%s breaker after 10 answers = %s, want closed", svc, st)
		}
	}
	if notFound.hits.Load() != 10 || broken.hits.Load() != 10 {
		t.Fatalf("4xx/500 were retried: %d and %d hits for 10 calls", notFound.hits.Load(), broken.hits.Load())
	}

	// 503s say the service cannot serve: after three the breaker opens and
	// calls fail fast.
	bad := register(t, c, "flaky", status(http.StatusServiceUnavailable))
	for range 3 {
		if st := call(t, client, "flaky", http.MethodPost, "/x"); st != http.StatusServiceUnavailable {
			t.Fatalf("503 call: %d", st)
		}
	}
	if st := client.BreakerState("flaky"); st != gobreaker.StateOpen {
		t.Fatalf("breaker after 3 x 503 = %s, want open", st)
	}
	before := bad.hits.Load()
	_, err := client.Do(context.Background(), svcclient.Request{Service: "flaky", Method: http.MethodGet, Path: "/x"})
	var ue *svcclient.UnavailableError
	if !errors.As(err, &ue) || ue.RetryAfter != time.Minute || ue.Reason != svcclient.ReasonBreakerOpen {
		t.Fatalf("open breaker error = %v, want UnavailableError(breaker_open) with RetryAfter 1m", err)
	}
	if bad.hits.Load() != before {
		t.Fatal("open breaker still sent the request")
	}
}

// TestOneClientsFailuresDoNotHurtAnother: a client whose every request
// makes the service fail with 500 (its own bad input) runs alongside a
// well-behaved client; the well-behaved one never sees a failure, the
// breaker stays closed and an instance stays in rotation, with one instance
// and with two.
func TestOneClientsFailuresDoNotHurtAnother(t *testing.T) {
	c := testkit.StartConsul(t)
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("bad") != "" {
			http.Error(w, "bug reached by this input", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
	for _, n := range []int{1, 2} {
		service := "shared-" + strconv.Itoa(n)
		var ids []string
		for range n {
			ids = append(ids, register(t, c, service, handler).id)
		}
		client, res := newClient(t, c, svcclient.Options{BreakerFailures: 3,
			Outliers: svcclient.OutlierOptions{MinRequests: 5, ConsecutiveFailures: 2}})
		waitInstances(t, res, service, n)

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var badCalls atomic.Int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.Do(ctx, svcclient.Request{Service: service, Method: http.MethodPost, Path: "/x?bad=1"})
				if err == nil && resp.Status == http.StatusInternalServerError {
					badCalls.Add(1)
				}
			}
		}()
		// At least 200 good requests, and on until at least 50 failing
		// ones have run alongside (a busy machine may schedule the failing
		// client late).
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; i < 200 || badCalls.Load() < 50; i++ {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("%d instance(s): only %d failing requests ran alongside %d good ones in 30s", n, badCalls.Load(), i)
			}
			if st := call(t, client, service, http.MethodGet, "/x"); st != http.StatusOK {
				cancel()
				t.Fatalf("%d instance(s): good request %d answered %d while another client failed", n, i, st)
			}
		}
		cancel()
		wg.Wait()
		if st := client.BreakerState(service); st != gobreaker.StateClosed {
			t.Fatalf("%d instance(s): breaker %s", n, st)
		}
		// Round-robin can line one client's requests up with one instance,
		// which may then look like an outlier; it is never the last one.
		inRotation := 0
		for _, id := range ids {
			if !client.Ejected(service, id) {
				inRotation++
			}
		}
		if inRotation == 0 {
			t.Fatalf("%d instance(s): every instance ejected for another client's input", n)
		}
	}
}

func waitInstances(t *testing.T, res *discovery.Resolver, service string, n int) {
	t.Helper()
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		inst, err := res.Instances(ctx, service)
		if err != nil || len(inst) != n {
			return fmt.Errorf("%s: %d instances, want %d (%v)", service, len(inst), n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutlierEjection: an instance that fails where its peer does not is
// taken out of rotation (a dead one after a few transport errors, a broken
// one by its 5xx ratio), and comes back when its time is up.
func TestOutlierEjection(t *testing.T) {
	c := testkit.StartConsul(t)
	opts := svcclient.Options{BreakerFailures: 100, Outliers: svcclient.OutlierOptions{
		ConsecutiveFailures: 2, MinRequests: 6, EjectFor: 400 * time.Millisecond, MaxEjectFor: 400 * time.Millisecond}}

	t.Run("dead instance", func(t *testing.T) {
		good := register(t, c, "dead-pair", status(http.StatusOK))
		dead := register(t, c, "dead-pair", status(http.StatusOK))
		dead.srv.Close() // registered and passing, but refuses connections
		client, res := newClient(t, c, opts)
		waitInstances(t, res, "dead-pair", 2)
		failed := 0
		for range 20 {
			// POST is never retried, so each failure reaches the caller.
			_, err := client.Do(context.Background(), svcclient.Request{Service: "dead-pair", Method: http.MethodPost, Path: "/"})
			if err != nil {
				failed++
			}
		}
		if failed != 2 {
			t.Fatalf("%d of 20 calls failed, want exactly the 2 that ejected the dead instance", failed)
		}
		if !client.Ejected("dead-pair", dead.id) || client.Ejected("dead-pair", good.id) {
			t.Fatal("the dead instance is not the one ejected")
		}
	})

	t.Run("broken instance", func(t *testing.T) {
		good := register(t, c, "broken-pair", status(http.StatusOK))
		broken := register(t, c, "broken-pair", status(http.StatusInternalServerError))
		client, res := newClient(t, c, opts)
		waitInstances(t, res, "broken-pair", 2)
		for range 16 {
			call(t, client, "broken-pair", http.MethodGet, "/")
		}
		if !client.Ejected("broken-pair", broken.id) {
			t.Fatal("an instance answering only 500 beside a healthy one was not ejected")
		}
		before := broken.hits.Load()
		for range 10 {
			if st := call(t, client, "broken-pair", http.MethodGet, "/"); st != http.StatusOK {
				t.Fatalf("call while the broken instance is ejected: %d", st)
			}
		}
		if broken.hits.Load() != before {
			t.Fatal("an ejected instance still got calls")
		}
		// Back in rotation when the ejection ends.
		err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
			call(t, client, "broken-pair", http.MethodGet, "/")
			if broken.hits.Load() == before {
				return errors.New("ejected instance not back yet")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if client.Ejected("broken-pair", good.id) {
			t.Fatal("the healthy instance was ejected")
		}
	})

	t.Run("last instance stays", func(t *testing.T) {
		only := register(t, c, "lonely", status(http.StatusOK))
		only.srv.Close()
		client, res := newClient(t, c, opts)
		waitInstances(t, res, "lonely", 1)
		for range 5 {
			_, _ = client.Do(context.Background(), svcclient.Request{Service: "lonely", Method: http.MethodPost, Path: "/"})
		}
		if client.Ejected("lonely", only.id) {
			t.Fatal("the only instance was ejected")
		}
	})
}

// TestBreakerRecovery: an open breaker closes on the first successful
// probe after its open time, and at once when Consul reports a new passing
// instance.
func TestBreakerRecovery(t *testing.T) {
	c := testkit.StartConsul(t)

	t.Run("probe", func(t *testing.T) {
		var healthy atomic.Bool
		register(t, c, "probed", func(w http.ResponseWriter, r *http.Request) {
			if !healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		client, _ := newClient(t, c, svcclient.Options{BreakerFailures: 2, BreakerOpenFor: 200 * time.Millisecond, RetryMax: -1})
		for range 2 {
			call(t, client, "probed", http.MethodPost, "/")
		}
		if st := client.BreakerState("probed"); st != gobreaker.StateOpen {
			t.Fatalf("breaker %s, want open", st)
		}
		healthy.Store(true)
		err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
			if client.BreakerState("probed") != gobreaker.StateHalfOpen {
				return errors.New("not half-open yet")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := call(t, client, "probed", http.MethodGet, "/"); st != http.StatusOK {
			t.Fatalf("probe: %d", st)
		}
		if st := client.BreakerState("probed"); st != gobreaker.StateClosed {
			t.Fatalf("breaker after one successful probe: %s, want closed", st)
		}
	})

	t.Run("new instance", func(t *testing.T) {
		old := register(t, c, "restarted", status(http.StatusServiceUnavailable))
		client, res := newClient(t, c, svcclient.Options{BreakerFailures: 2, BreakerOpenFor: time.Hour, RetryMax: -1})
		available := make(chan string, 4)
		client.OnAvailable(func(service string) { available <- service })
		for range 2 {
			call(t, client, "restarted", http.MethodPost, "/")
		}
		if st := client.BreakerState("restarted"); st != gobreaker.StateOpen {
			t.Fatalf("breaker %s, want open", st)
		}
		if err := c.Client.Agent().ServiceDeregister(old.id); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, res, "restarted", 0)
		register(t, c, "restarted", status(http.StatusOK))
		err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
			if st := client.BreakerState("restarted"); st != gobreaker.StateClosed {
				return fmt.Errorf("breaker %s", st)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("a new passing instance did not close the breaker within an hour-long open time: %v", err)
		}
		if st := call(t, client, "restarted", http.MethodGet, "/"); st != http.StatusOK {
			t.Fatalf("call after the new instance: %d", st)
		}
		select {
		case s := <-available:
			if s != "restarted" {
				t.Fatalf("OnAvailable(%q)", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("OnAvailable not called")
		}
	})
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

// TestStreamedBodies: a request that cannot be retried sends its body as it
// is read and Send hands back the live answer; a caller body that fails is
// a BodyError and counts nothing against the service.
func TestStreamedBodies(t *testing.T) {
	c := testkit.StartConsul(t)
	got := make(chan string, 4)
	register(t, c, "sink", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		got <- fmt.Sprintf("%s %d %s", r.Method, r.ContentLength, b)
		w.Header().Set("X-Seen", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	client, _ := newClient(t, c, svcclient.Options{BreakerFailures: 1, BreakerOpenFor: time.Hour})
	ctx := context.Background()

	resp, err := client.Send(ctx, svcclient.Request{Service: "sink", Method: http.MethodPost, Path: "/",
		Stream: strings.NewReader("streamed"), Length: 8})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "streamed" || resp.Header.Get("X-Seen") != "8" || <-got != "POST 8 streamed" {
		t.Fatalf("streamed call: %d %q", resp.StatusCode, body)
	}
	// A retryable request's stream is read first, so it can be sent again.
	r2, err := client.Do(ctx, svcclient.Request{Service: "sink", Method: http.MethodPut, Path: "/",
		Stream: strings.NewReader("again")})
	if err != nil || string(r2.Body) != "again" || <-got != "PUT 5 again" {
		t.Fatalf("retryable stream: %v %v", r2, err)
	}

	_, err = client.Send(ctx, svcclient.Request{Service: "sink", Method: http.MethodPost, Path: "/",
		Stream: io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errors.New("client went away")))})
	var be *svcclient.BodyError
	if !errors.As(err, &be) {
		t.Fatalf("failing client body: %v, want BodyError", err)
	}
	if st := client.BreakerState("sink"); st != gobreaker.StateClosed {
		t.Fatalf("a client's failing body opened the breaker (threshold 1): %s", st)
	}
}
