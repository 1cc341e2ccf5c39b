package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hospital/lib/health"
)

func ready(t *testing.T, h *health.Health) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.Ready(rec, httptest.NewRequest(http.MethodGet, "/healthz/ready", nil))
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

func TestReadinessFollowsChecksAndDraining(t *testing.T) {
	var dbErr error
	h := health.New(map[string]health.Check{
		"db":    func(context.Context) error { return dbErr },
		"cache": func(context.Context) error { return nil },
	})
	if rec, _ := ready(t, h); rec.Code != http.StatusOK {
		t.Fatalf("healthy: %d %s", rec.Code, rec.Body)
	}

	dbErr = errors.New("connection refused")
	rec, body := ready(t, h)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("db down: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	errs, _ := body["errors"].(map[string]any)
	if _, ok := errs["db"]; !ok || len(errs) != 1 {
		t.Fatalf("the failing check is not named alone: %s", rec.Body)
	}

	dbErr = nil
	h.Drain()
	if rec, _ := ready(t, h); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("draining: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	rec = httptest.NewRecorder()
	h.Live(rec, httptest.NewRequest(http.MethodGet, "/healthz/live", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("a draining process is still alive: %d", rec.Code)
	}
}

// A check that hangs (a store that accepts connections but never answers)
// fails readiness within CheckTimeout, before Consul's own check timeout.
func TestHungCheckFailsWithinCheckTimeout(t *testing.T) {
	h := health.New(map[string]health.Check{"db": func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	done := make(chan int, 1)
	go func() {
		rec, _ := ready(t, h)
		done <- rec.Code
	}()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Fatalf("hung check: %d", code)
		}
	case <-time.After(10 * health.CheckTimeout):
		t.Fatal("readiness waited on a hung check")
	}
}
