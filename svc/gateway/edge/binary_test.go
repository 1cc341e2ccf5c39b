package edge

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// TestBinary runs the gateway as its own process, configured from the
// environment as in production: it registers itself in Consul advertising no
// routes, serves, and deregisters on SIGTERM.
func TestBinary(t *testing.T) {
	c := testkit.StartConsul(t)
	bin := testkit.Build(t, "hospital/svc/gateway")
	gw := testkit.StartService(t, c, "gateway", bin, "CORS_ALLOWED_ORIGINS=https://app.example", "RATE_LIMIT_BURST=2")

	entries, _, err := c.Client.Health().Service("gateway", "", true, nil)
	if err != nil || len(entries) != 1 {
		t.Fatalf("gateway instances in consul: %d, %v", len(entries), err)
	}
	for k := range entries[0].Service.Meta {
		if strings.HasPrefix(k, "gw-routes") {
			t.Errorf("the gateway advertises routes: %v", entries[0].Service.Meta)
		}
	}

	// With the default ROUTE_OWNERS: the user service's path, before it has
	// ever registered, is a 503 with Retry-After; a path nobody owns is a 404.
	resp, body := call(t, http.MethodGet, gw.URL+"/api/v1/users/me/", nil)
	problemBody(t, resp, body, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	resp, body = call(t, http.MethodGet, gw.URL+"/api/v1/nothing/", nil)
	problemBody(t, resp, body, http.StatusNotFound)
	resp, _ = call(t, http.MethodOptions, gw.URL+"/api/v1/users/me/", nil,
		"Origin", "https://app.example", "Access-Control-Request-Method", "GET")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("CORS from the environment not applied: %v", resp.Header)
	}
	for range 2 {
		call(t, http.MethodPost, gw.URL+"/api/v1/users/login/", nil)
	}
	resp, body = call(t, http.MethodPost, gw.URL+"/api/v1/users/login/", nil)
	problemBody(t, resp, body, http.StatusTooManyRequests)

	if err := gw.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	err = testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		regs, _, err := c.Client.Catalog().Service("gateway", "", nil)
		if err != nil || len(regs) != 0 {
			return fmt.Errorf("gateway still registered (%d), %v", len(regs), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
