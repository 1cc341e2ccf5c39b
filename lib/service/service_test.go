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
	s, err := service.New("records", config.Base{
		HTTPAddr: "127.0.0.1:0", ConsulAddr: c.Addr, LogLevel: "error",
		ConsulCheckInterval: 200 * time.Millisecond, ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20,
	})
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
