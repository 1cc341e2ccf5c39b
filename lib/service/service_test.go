package service_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/routemeta"
	"hospital/lib/service"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func TestLifecycle(t *testing.T) {
	c := testkit.StartConsul(t)
	s, err := service.New("records", testBase(c))
	if err != nil {
		t.Fatal(err)
	}
	var dbDown atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/records/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx, service.Spec{
			Handler: mux,
			Routes:  []routemeta.Route{{Pattern: "/api/v1/records/*", Timeout: 3 * time.Second}},
			Checks: map[string]health.Check{"db": func(context.Context) error {
				if dbDown.Load() {
					return errors.New("db down")
				}
				return nil
			}},
		})
	}()
	defer cancel()

	wait := func(what string, cond func(ctx context.Context) error) {
		t.Helper()
		if err := testkit.Until(context.Background(), 15*time.Second, nil, cond); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	passing := func(n int) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			ids, err := c.Passing(ctx, "records")
			if err != nil {
				return err
			}
			if len(ids) != n {
				return fmt.Errorf("%d passing, want %d", len(ids), n)
			}
			return nil
		}
	}
	wait("registered and passing", passing(1))

	svc, _, err := c.Client.Agent().Service(s.InstanceID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.InstanceID, "records-") || !strings.HasSuffix(s.InstanceID, fmt.Sprintf("-%d", svc.Port)) {
		t.Fatalf("instance id %q is not <name>-<host>-<port>", s.InstanceID)
	}
	routes, err := routemeta.Decode(svc.Meta)
	if err != nil || len(routes) != 1 || routes[0].Pattern != "/api/v1/records/*" {
		t.Fatalf("advertised routes = %v, %v", routes, err)
	}
	// Prometheus finds the operator listener from the service meta.
	if _, opsPort, _ := strings.Cut(s.OpsAddr, ":"); svc.Meta[service.MetaOpsPort] != opsPort || opsPort == "" {
		t.Fatalf("meta %s = %q, operator listener %s", service.MetaOpsPort, svc.Meta[service.MetaOpsPort], s.OpsAddr)
	}
	// Health and metrics are served to operators only, never on the API port.
	for _, path := range []string{"/healthz/live", "/healthz/ready", "/metrics"} {
		if code := get(t, "http://"+s.Addr+path); code != http.StatusNotFound {
			t.Errorf("API port answers %s: %d, want 404", path, code)
		}
		if code := get(t, "http://"+s.OpsAddr+path); code != http.StatusOK {
			t.Errorf("operator listener answers %s: %d, want 200", path, code)
		}
	}
	if code := get(t, "http://"+s.Addr+"/api/v1/records/"); code != http.StatusOK {
		t.Fatalf("API: %d", code)
	}

	// Readiness follows the database: Consul takes the instance out.
	dbDown.Store(true)
	wait("critical when its store is down", passing(0))
	dbDown.Store(false)
	wait("passing again", passing(1))

	// The agent forgets us (restart, reaping): we register again.
	if err := c.Client.Agent().ServiceDeregister(s.InstanceID); err != nil {
		t.Fatal(err)
	}
	wait("re-registered", passing(1))

	// The check is on the operator listener: its readiness is what Consul sees.
	checks, err := c.Client.Agent().Checks()
	if err != nil || checks["ready-"+s.InstanceID] == nil || checks["ready-"+s.InstanceID].Status != "passing" {
		t.Fatalf("readiness check: %+v, %v", checks, err)
	}

	// Shutdown deregisters before draining.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if svc, _, err := c.Client.Agent().Service(s.InstanceID, nil); err == nil && svc != nil {
		t.Fatal("still registered after shutdown")
	}
}

func testBase(c *testkit.Consul) config.Base {
	return config.Base{
		HTTPAddr: "127.0.0.1:0", OpsAddr: "127.0.0.1:0", ConsulAddr: c.Addr, LogLevel: "error",
		ConsulCheckInterval: 200 * time.Millisecond, ConsulCheckTimeout: time.Second, ConsulDeregisterAfter: time.Minute,
		DrainDelay: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20,
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
