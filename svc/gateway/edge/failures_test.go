package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/routemeta"
	"hospital/lib/testkit"
)

// TestGatewayFailures: what clients see when a service cannot answer: no
// healthy instance, too slow, failing instances.
func TestGatewayFailures(t *testing.T) {
	c := testkit.StartConsul(t)
	cfg := testConfig(c)
	cfg.DefaultRouteTimeout = 5 * time.Second
	gw := startGateway(t, cfg)

	t.Run("no healthy instance answers 503 fast", func(t *testing.T) {
		u := startUpstream(t, c, "fragile", []routemeta.Route{{Pattern: "/api/v1/fragile/*", Public: []string{"GET"}}}, echo("fragile"))
		url := gw.URL + "/api/v1/fragile/x"
		waitServedBy(t, url, "fragile")

		u.fail(t)
		waitStatus(t, http.MethodGet, url, http.StatusServiceUnavailable)
		start := time.Now()
		resp, body := call(t, http.MethodGet, url, nil)
		elapsed := time.Since(start)
		problemBody(t, resp, body, http.StatusServiceUnavailable)
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		if elapsed > time.Second {
			t.Errorf("503 took %s", elapsed)
		}

		// Gone from the catalog too: still a 503, never a 404.
		u.deregister(t)
		resp, body = call(t, http.MethodGet, url, nil)
		problemBody(t, resp, body, http.StatusServiceUnavailable)
	})

	t.Run("slow upstream answers 504 within the route timeout", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		startUpstream(t, c, "slow", []routemeta.Route{
			{Pattern: "/api/v1/slow/*", Public: []string{"GET", "POST"}, Timeout: 300 * time.Millisecond},
			{Pattern: "/api/v1/slow/ping/", Public: []string{"GET"}},
		}, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/slow/ping/" {
				echo("slow")(w, r)
				return
			}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		waitServedBy(t, gw.URL+"/api/v1/slow/ping/", "slow")
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			start := time.Now()
			resp, body := call(t, method, gw.URL+"/api/v1/slow/wait", nil)
			elapsed := time.Since(start)
			problemBody(t, resp, body, http.StatusGatewayTimeout)
			if elapsed < 300*time.Millisecond || elapsed > 2*time.Second {
				t.Errorf("%s: 504 after %s, want about 300ms", method, elapsed)
			}
		}
	})

	t.Run("only idempotent requests are retried", func(t *testing.T) {
		pair := func(service string) (bad, good *upstream) {
			routes := []routemeta.Route{{Pattern: "/api/v1/" + service + "/*", Public: []string{"GET", "POST"}}}
			bad = startUpstream(t, c, service, routes, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Upstream", "bad")
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
			})
			good = startUpstream(t, c, service, routes, echo(service))
			err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
				inst, err := gw.svc.Resolver.Instances(ctx, service)
				if err != nil || len(inst) != 2 {
					return errString(service + " instances not both known yet")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			waitServedBy(t, gw.URL+"/api/v1/"+service+"/x", service)
			return bad, good
		}

		// A POST is sent once: the failing instance's 503 is relayed.
		bad, good := pair("flaky")
		badBefore, goodBefore := bad.hits.Load(), good.hits.Load()
		unavailable := 0
		for range 6 {
			resp, body := call(t, http.MethodPost, gw.URL+"/api/v1/flaky/x", strings.NewReader(`{"a":1}`))
			switch {
			case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("X-Upstream") == "bad":
				unavailable++ // the upstream's own answer, relayed
				if !strings.Contains(string(body), "overloaded") {
					t.Errorf("503 body not relayed: %s", body)
				}
			case resp.StatusCode == http.StatusOK:
				var got echoed
				if err := json.Unmarshal(body, &got); err != nil || got.Body != `{"a":1}` {
					t.Errorf("streamed body: %s", body)
				}
			default:
				t.Fatalf("POST: %d %v: %s", resp.StatusCode, resp.Header, body)
			}
		}
		badN, goodN := bad.hits.Load()-badBefore, good.hits.Load()-goodBefore
		if unavailable == 0 || badN != int64(unavailable) || badN+goodN != 6 {
			t.Fatalf("POST was retried: %d answered 503, bad instance hit %d, good %d (want one hit per request)", unavailable, badN, goodN)
		}

		// A GET that meets the failing instance is retried on the other.
		bad, good = pair("retried")
		badBefore = bad.hits.Load()
		for i := range 6 {
			resp, body := call(t, http.MethodGet, gw.URL+"/api/v1/retried/x", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %d: %d: %s", i, resp.StatusCode, body)
			}
		}
		if bad.hits.Load() == badBefore {
			t.Fatalf("the failing instance was never tried, so no retry was exercised")
		}
	})

	t.Run("metrics", func(t *testing.T) {
		for _, want := range []string{
			`gateway_upstream_requests_total{code="unavailable",service="fragile"}`,
			`gateway_upstream_requests_total{code="timeout",service="slow"}`,
		} {
			waitMetric(t, gw.OpsURL, want)
		}
	})
}
