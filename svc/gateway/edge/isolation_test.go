package edge

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/routemeta"
	"hospital/lib/testkit"
)

// TestBadClientCannotTakeServiceDown: one client sends a stream of requests
// that make the service fail with 500 (its input reaches a bug); another
// client's requests, at the same time, all succeed: the breaker measures the
// service's health, not one client's input.
func TestBadClientCannotTakeServiceDown(t *testing.T) {
	c := testkit.StartConsul(t)
	gw := startGateway(t, testConfig(c))
	routes := []routemeta.Route{{Pattern: "/api/v1/buggy/*", Public: []string{"GET", "POST"}}}
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("bad") != "" {
			http.Error(w, "a bug this input reaches", http.StatusInternalServerError)
			return
		}
		echo("buggy")(w, r)
	}
	startUpstream(t, c, "buggy", routes, handler)
	waitServedBy(t, gw.URL+"/api/v1/buggy/x", "buggy")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var failures atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/api/v1/buggy/x?bad=1", strings.NewReader(`{}`))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusInternalServerError {
					failures.Add(1)
				}
			}
		}()
	}
	// At least 300 good requests, and on until at least 50 failing ones
	// have run alongside (a busy machine may schedule the bad client late).
	deadline := time.Now().Add(30 * time.Second)
	good := 0
	for ; good < 300 || failures.Load() < 50; good++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d failing requests ran alongside %d good ones in 30s; the test proved nothing", failures.Load(), good)
		}
		resp, body := call(t, http.MethodGet, gw.URL+"/api/v1/buggy/items/", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("good request %d: %d while another client failed %d times: %s", good, resp.StatusCode, failures.Load(), body)
		}
	}
	cancel()
	wg.Wait()
	t.Logf("%d good requests all answered while another client had %d requests fail with 500", good, failures.Load())
}
