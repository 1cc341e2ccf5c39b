package routemeta_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"hospital/lib/routemeta"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	var routes []routemeta.Route
	for i := range 40 {
		routes = append(routes, routemeta.Route{
			Pattern: fmt.Sprintf("/api/v1/things-%02d/{}/items/*", i), Timeout: 15 * time.Second,
		})
	}
	routes = append(routes, routemeta.Route{Pattern: "/api/v1/users/login/", Public: []string{"POST"}})
	meta, err := routemeta.Encode(routes)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta) < 2 {
		t.Fatalf("40 routes fit in %d meta keys: values must be split at 512 chars", len(meta))
	}
	for k, v := range meta {
		if len(v) > 512 || len(k) > 128 {
			t.Fatalf("meta %s exceeds Consul limits (%d chars)", k, len(v))
		}
	}
	got, err := routemeta.Decode(meta)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, routes) {
		t.Fatalf("round trip changed routes:\n got %v\nwant %v", got, routes)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		ok            bool
	}{
		{"/api/v1/users/*", "/api/v1/users/me/", true},
		{"/api/v1/users/*", "/api/v1/users/", true}, // the list endpoint itself
		{"/api/v1/users/*", "/api/v1/users", false},
		{"/api/v1/users/*", "/api/v1/usersx/me/", false},
		{"/api/v1/users/login/", "/api/v1/users/login/", true},
		{"/api/v1/users/login/", "/api/v1/users/login/x", false},
		{"/api/v1/patients/{}/invoices/", "/api/v1/patients/12/invoices/", true},
		{"/api/v1/patients/{}/invoices/", "/api/v1/patients//invoices/", false},
		{"/api/v1/patients/{}/invoices/*", "/api/v1/patients/12/invoices/3/", true},
	}
	for _, c := range cases {
		if ok, _ := routemeta.Match(c.pattern, c.path); ok != c.ok {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.path, ok, c.ok)
		}
	}
	_, exact := routemeta.Match("/api/v1/users/login/", "/api/v1/users/login/")
	_, prefix := routemeta.Match("/api/v1/users/*", "/api/v1/users/login/")
	_, wild := routemeta.Match("/api/v1/{}/login/", "/api/v1/users/login/")
	if exact <= prefix || exact <= wild {
		t.Fatalf("scores exact=%d prefix=%d wild=%d: exact must win", exact, prefix, wild)
	}
	_, longer := routemeta.Match("/api/v1/admin/users/*", "/api/v1/admin/users/5/")
	_, shorter := routemeta.Match("/api/v1/admin/*", "/api/v1/admin/users/5/")
	if longer <= shorter {
		t.Fatalf("longer prefix %d must beat shorter %d", longer, shorter)
	}
}

func TestEncodeRejectsBadPatterns(t *testing.T) {
	for _, p := range []string{"api/v1/x/", "/a b/", "/a/*/b/", "/a|b/"} {
		if _, err := routemeta.Encode([]routemeta.Route{{Pattern: p}}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}
