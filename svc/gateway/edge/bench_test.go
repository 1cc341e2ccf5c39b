package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/routemeta"
	"hospital/lib/testkit"
)

// benchPatterns is a routing table shaped like the platform's: eight
// services, about sixty patterns, DRF-style paths.
func benchPatterns() []string {
	var out []string
	for _, svc := range []string{"users", "ehr", "appointments", "pharmacy", "billing", "lab", "notifications", "admin"} {
		base := "/api/v1/" + svc + "/"
		out = append(out,
			base,
			base+"{}/",
			base+"{}/items/",
			base+"{}/items/{}/",
			base+"search/",
			base+"stats/",
			base+"*",
		)
	}
	out = append(out, "/api/v1/users/login/", "/api/v1/users/me/", "/api/v1/users/token/refresh/", "/api/v1/ehr/records/{}/encounters/")
	return out
}

func benchTable() *table {
	patterns := benchPatterns()
	routes := make([]*Route, len(patterns))
	for i, p := range patterns {
		routes[i] = &Route{Route: routemeta.Route{Pattern: p}, Service: "svc"}
	}
	return buildTable(routes)
}

var benchPaths = []string{
	"/api/v1/users/login/",
	"/api/v1/ehr/records/17/encounters/",
	"/api/v1/billing/42/items/7/",
	"/api/v1/pharmacy/search/",
	"/api/v1/lab/99/results/extra/",
	"/api/v1/nothing/here/",
}

// BenchmarkRouteLookup matches paths against a table of about sixty
// advertised patterns; "linear" scores every pattern, as a baseline for the
// index.
func BenchmarkRouteLookup(b *testing.B) {
	t := benchTable()
	b.Logf("%d patterns", t.size)
	b.Run("indexed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			t.lookup(benchPaths[i%len(benchPaths)])
		}
	})
	b.Run("linear", func(b *testing.B) {
		all := append(append([]*Route{}, t.other...), flatten(t.byPrefix)...)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			path := benchPaths[i%len(benchPaths)]
			best := -1
			for _, r := range all {
				if ok, score := routemeta.Match(r.Pattern, path); ok && score > best {
					best = score
				}
			}
		}
	})
}

func flatten(m map[string][]*Route) []*Route {
	var out []*Route
	for _, rs := range m {
		out = append(out, rs...)
	}
	return out
}

// BenchmarkProxy sends requests through the gateway's handler (in process)
// to a local upstream over loopback HTTP: routing, token check, header
// rewriting, the shared client (discovery, breaker) and the answer relayed.
func BenchmarkProxy(b *testing.B) {
	c := testkit.StartConsul(b)
	cfg := testConfig(c)
	gw := newGateway(b, cfg)
	signer, _ := newSigner(b)
	startUpstream(b, c, "user", []routemeta.Route{{Pattern: "/api/v1/users/*"}}, userStub(signer, nil))
	startUpstream(b, c, "bench", []routemeta.Route{{Pattern: "/api/v1/bench/*", Public: []string{"GET"}}},
		func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":1,"status":"ok"}`))
		})
	token := "Bearer " + sign(b, signer, auth.Identity{UserID: 1, Role: auth.RolePatient}, time.Hour)
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(context.Context) error {
		for _, p := range []string{"/api/v1/bench/x", "/api/v1/users/me/"} {
			if _, ok := gw.Router().Lookup(p); !ok {
				return errString("routes not loaded yet")
			}
		}
		if rec := serveDirect(gw, http.MethodGet, "/api/v1/users/me/", token); rec.Code != http.StatusOK {
			return errString("token not accepted yet")
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, path, authz string) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			rec := httptest.NewRecorder()
			gw.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("public", func(b *testing.B) { run(b, "/api/v1/bench/items/1/", "") })
	b.Run("with-token", func(b *testing.B) { run(b, "/api/v1/users/me/", token) })
}
