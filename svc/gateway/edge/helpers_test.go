package edge

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/auth"
	"hospital/lib/config"
	"hospital/lib/routemeta"
	"hospital/lib/service"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// testGateway is a gateway built and run exactly as main does, on a free
// port, against a test's Consul agent.
type testGateway struct {
	*Gateway
	svc *service.Service
	URL string
	// OpsURL is the operator listener: health and metrics.
	OpsURL string
}

func testConfig(c *testkit.Consul) Config {
	cfg, err := config.Load[Config]()
	if err != nil {
		panic(err)
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.AdvertiseHost = ""
	cfg.ConsulAddr = c.Addr
	cfg.ConsulToken = ""
	cfg.ConsulCheckInterval = time.Second
	cfg.LogLevel = "error"
	cfg.LokiPushURL = ""
	cfg.ServiceSecret = ""
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.RouteOwners = testOwners
	return cfg
}

// testOwners gives each test upstream its own prefix (the spec-* services
// share one, to test conflicts).
const testOwners = "/api/v1/users/=user,/api/v1/echo/=echo,/api/v1/spec/=spec-a|spec-b|spec-c," +
	"/api/v1/relay/=relay,/api/v1/fragile/=fragile,/api/v1/slow/=slow,/api/v1/flaky/=flaky," +
	"/api/v1/retried/=retried,/api/v1/buggy/=buggy,/api/v1/bench/=bench,/api/v1/docs-a/=docs-a,/api/v1/docs-b/=docs-b"

// newGateway builds a gateway without serving it (benchmarks call its
// handler directly).
func newGateway(t testing.TB, cfg Config) *testGateway {
	t.Helper()
	s, err := service.New("gateway", cfg.Base)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testGateway{Gateway: g, svc: s, URL: "http://" + s.Addr, OpsURL: "http://" + s.OpsAddr}
}

// startGateway runs a gateway until the test ends.
func startGateway(t testing.TB, cfg Config) *testGateway {
	t.Helper()
	gw := newGateway(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.svc.Run(ctx, gw.Spec()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
	})
	if err := testkit.Until(ctx, 30*time.Second, nil, testkit.HTTPOK(gw.OpsURL+"/healthz/ready")); err != nil {
		t.Fatal(err)
	}
	return gw
}

// upstream is a test service: a real HTTP server registered in the real
// Consul agent with the routes it advertises and a passing TTL check.
type upstream struct {
	*httptest.Server
	ID      string
	Service string
	hits    atomic.Int64
	consul  *testkit.Consul
}

func startUpstream(t testing.TB, c *testkit.Consul, service string, routes []routemeta.Route, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{Service: service, consul: c}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(u.Close)
	meta, err := routemeta.Encode(routes)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Listener.Addr().(*net.TCPAddr).Port
	u.ID = fmt.Sprintf("%s-test-%d", service, port)
	err = c.Client.Agent().ServiceRegister(&consul.AgentServiceRegistration{
		ID: u.ID, Name: service, Address: "127.0.0.1", Port: port, Meta: meta,
		Check: &consul.AgentServiceCheck{CheckID: "ttl-" + u.ID, TTL: "10m", Status: consul.HealthPassing},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.Agent().ServiceDeregister(u.ID) })
	return u
}

// fail turns the instance's check critical (it stays registered).
func (u *upstream) fail(t testing.TB) {
	t.Helper()
	if err := u.consul.Client.Agent().UpdateTTL("ttl-"+u.ID, "down for the test", consul.HealthCritical); err != nil {
		t.Fatal(err)
	}
}

func (u *upstream) deregister(t testing.TB) {
	t.Helper()
	if err := u.consul.Client.Agent().ServiceDeregister(u.ID); err != nil {
		t.Fatal(err)
	}
}

// echoed is what echo answers: what the upstream received.
type echoed struct {
	Service string      `json:"service"`
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Header  http.Header `json:"header"`
	Body    string      `json:"body"`
}

// echo answers with what it received, with the status in ?status= if any.
func echo(service string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", service)
		w.Header().Set("Content-Type", "application/json")
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			fmt.Sscan(s, &status)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(echoed{Service: service, Method: r.Method, Path: r.URL.Path,
			Query: r.URL.RawQuery, Header: r.Header, Body: string(body)})
	}
}

// userStub stands in for the user service where the gateway needs it: it
// publishes the JWKS of signer and echoes everything else.
func userStub(signer *auth.Signer, internalHits *atomic.Int64) http.HandlerFunc {
	e := echo("user")
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == svcclient.JWKSPath {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(signer.JWKS())
			return
		}
		if internalPath(r.URL.Path) && internalHits != nil {
			internalHits.Add(1)
		}
		e(w, r)
	}
}

func newSigner(t testing.TB) (*auth.Signer, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewSigner(priv, auth.DefaultIssuer, auth.DefaultAudience), pub
}

func sign(t testing.TB, s *auth.Signer, id auth.Identity, ttl time.Duration) string {
	t.Helper()
	tok, err := s.Sign(id, ttl, fmt.Sprintf("jti-%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call makes one request; hdr holds alternating names and values.
func call(t testing.TB, method, url string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// waitStatus waits until method url answers want.
func waitStatus(t testing.TB, method, url string, want int, hdr ...string) {
	t.Helper()
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, method, url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitServedBy waits until GET url is answered by the echo of service.
func waitServedBy(t testing.TB, url, service string) {
	t.Helper()
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if got := resp.Header.Get("X-Upstream"); got != service {
			return fmt.Errorf("GET %s: %d from %q, want %q", url, resp.StatusCode, got, service)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// problemBody decodes a problem+json answer, failing on any other type.
func problemBody(t testing.TB, resp *http.Response, body []byte, status int) map[string]any {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json: %s", ct, body)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, body)
	}
	if p["detail"] == "" || p["detail"] == nil || p["status"] != float64(status) {
		t.Fatalf("problem body lacks detail or status: %s", body)
	}
	return p
}
