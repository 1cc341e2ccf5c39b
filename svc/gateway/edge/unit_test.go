package edge

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"hospital/lib/discovery"
	"hospital/lib/middleware"
	"hospital/lib/routemeta"
)

func serveDirect(gw *testGateway, method, path, authz string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	gw.Handler().ServeHTTP(rec, req)
	return rec
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func instance(service, id string, routes ...routemeta.Route) discovery.Instance {
	meta, err := routemeta.Encode(routes)
	if err != nil {
		panic(err)
	}
	return discovery.Instance{ID: id, Service: service, Address: "127.0.0.1:1", Meta: meta}
}

func lookupService(rt *Router, path string) string {
	r, ok := rt.Lookup(path)
	if !ok {
		return ""
	}
	return r.Service
}

// TestLookupMatchesBruteForce checks the indexed lookup against scoring
// every pattern with routemeta.Match.
func TestLookupMatchesBruteForce(t *testing.T) {
	patterns := benchPatterns()
	patterns = append(patterns, "/*", "/api/*", "/api/v1/*", "/{}/v1/users/", "/api/{}/users/*", "/api/v1/", "/api/v1/users", "/a/b/c/")
	routes := make([]*Route, len(patterns))
	for i, p := range patterns {
		routes[i] = &Route{Route: routemeta.Route{Pattern: p}, Service: fmt.Sprintf("s%02d", i%7)}
	}
	tbl := buildTable(routes)

	segs := []string{"api", "v1", "users", "ehr", "records", "42", "items", "", "x", "a", "b", "c", "login"}
	rng := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/", "/api", "/api/v1/", "/api/v1/users", "/a/b/c/", "/api/v1/users/login/"}
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteByte('/')
			b.WriteString(segs[rng.IntN(len(segs))])
		}
		paths = append(paths, b.String())
	}
	for _, path := range paths {
		var want *Route
		bestScore := -1
		for _, r := range routes { // routes are in table order after buildTable
			if ok, score := routemeta.Match(r.Pattern, path); ok && score > bestScore {
				want, bestScore = r, score
			}
		}
		got, _ := tbl.lookup(path)
		if got != want {
			t.Fatalf("%s: got %v, want %v", path, got, want)
		}
	}
}

func TestLeadingSegments(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/users/login/": "api/v1/users",
		"/api/v1/users":        "api/v1/users",
		"/api/v1/":             "api/v1/",
		"/api/v1":              "",
		"/":                    "",
		"":                     "",
	} {
		if got, _ := leadingSegments(in, 3); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestPathChecks(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/users/internal/x":  true,
		"/internal":                 true,
		"/api/v1/INTERNAL/":         true,
		"/api/v1/users/internals/x": false,
		"/api/v1/users/me/":         false,
	} {
		if got := internalPath(path); got != want {
			t.Errorf("internalPath(%q) = %v", path, got)
		}
	}
	for target, want := range map[string]bool{
		"/api/v1/users/me/":      true,
		"/api/v1/users/a%20b/":   true,
		"/api/v1/users/a%2Fb/":   false,
		"/api/v1/users/a%5cb/":   false,
		"/api/v1/users/../x/":    false,
		"/api/v1/users/%2e%2e/x": false,
		"/api/v1/users/./x/":     false,
		"/api/v1//users/":        false,
		"/api/v1/users/%0a/":     false,
	} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if got := cleanPath(req); got != want {
			t.Errorf("cleanPath(%q) = %v", target, got)
		}
	}
}

func TestRateLimiter(t *testing.T) {
	l := newRateLimiter([]string{"/api/v1/users/login/"}, 60, 3) // one a second
	key, ok := l.applies("/api/v1/users/login")
	if !ok {
		t.Fatal("path without trailing slash not limited")
	}
	if _, ok := l.applies("/api/v1/users/me/"); ok {
		t.Fatal("unlisted path limited")
	}
	now := time.Now()
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if ok, _ := l.allow(a, key, now); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, wait := l.allow(a, key, now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("after the burst: allowed %v, wait %s", ok, wait)
	}
	if ok, _ := l.allow(b, key, now); !ok {
		t.Fatal("another client shares the bucket")
	}
	if ok, _ := l.allow(a, key, now.Add(1100*time.Millisecond)); !ok {
		t.Fatal("no token after a second")
	}
	// IPv6 clients share a bucket per /64.
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ffff")
	for range 3 {
		l.allow(v6a, key, now)
	}
	if ok, _ := l.allow(v6b, key, now); ok {
		t.Fatal("another address of the same /64 got a fresh bucket")
	}
	// Idle buckets are evicted.
	if l.size() == 0 {
		t.Fatal("no buckets")
	}
	l.mu.Lock()
	l.evictLocked(now.Add(l.idle + 2*time.Second))
	l.mu.Unlock()
	if n := l.size(); n != 0 {
		t.Fatalf("%d stale buckets kept", n)
	}
	if newRateLimiter([]string{"/x"}, 0, 10) != nil {
		t.Fatal("a zero rate must disable the limiter")
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := parsePrefixes([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:1000", "", "203.0.113.5"},
		{"203.0.113.5:1000", "1.2.3.4", "203.0.113.5"},             // untrusted peer: header ignored
		{"10.1.2.3:1000", "1.2.3.4", "1.2.3.4"},                    // trusted proxy
		{"10.1.2.3:1000", "6.6.6.6, 1.2.3.4, 10.9.9.9", "1.2.3.4"}, // right-most untrusted hop
		{"192.0.2.7:1000", "garbage, 1.2.3.4", "1.2.3.4"},          // single-IP trust
		{"10.1.2.3:1000", "1.2.3.4, garbage", "10.1.2.3"},          // garbled hop: stop there
		{"10.1.2.3:1000", "", "10.1.2.3"},                          // trusted but no header
		{"[::ffff:203.0.113.5]:1000", "1.2.3.4", "203.0.113.5"},    // mapped IPv4
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, trusted); got.String() != c.want {
			t.Errorf("peer %s xff %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if _, err := parsePrefixes([]string{"not-a-cidr"}); err == nil {
		t.Error("bad TRUSTED_PROXIES accepted")
	}
}

func TestOutgoingHeader(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://gw.example/api/v1/x/", nil)
	r.RemoteAddr = "203.0.113.5:999"
	r.Header.Set("Connection", "keep-alive, X-Secret")
	r.Header.Set("X-Secret", "1")
	r.Header.Set("Keep-Alive", "timeout=5")
	r.Header.Set("Te", "trailers")
	r.Header.Set("Upgrade", "h2c")
	r.Header.Set("Proxy-Authorization", "Basic x")
	r.Header.Set("X-On-Behalf-Of", "1")
	r.Header.Set("X-Caller-Service", "billing")
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Header.Set("Forwarded", "for=6.6.6.6")
	r.Header.Set("Authorization", "Bearer t")
	r.Header.Set("X-Client-IP", "6.6.6.6")
	h := outgoingHeader(r, netip.MustParseAddr("203.0.113.5"), nil)
	for _, gone := range []string{"Connection", "X-Secret", "Keep-Alive", "Te", "Upgrade", "Proxy-Authorization", "X-On-Behalf-Of", "X-Caller-Service", "Forwarded"} {
		if v := h.Get(gone); v != "" {
			t.Errorf("%s forwarded: %q", gone, v)
		}
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer t", "X-Forwarded-For": "203.0.113.5", "X-Forwarded-Host": "gw.example",
		"X-Forwarded-Proto": "http", "X-Real-Ip": "203.0.113.5", "X-Client-Ip": "203.0.113.5",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	// Behind a trusted proxy the chain is extended, not replaced.
	trusted, _ := parsePrefixes([]string{"10.0.0.0/8"})
	r.RemoteAddr = "10.0.0.2:999"
	h = outgoingHeader(r, netip.MustParseAddr("6.6.6.6"), trusted)
	if got := h.Get("X-Forwarded-For"); got != "6.6.6.6, 10.0.0.2" {
		t.Errorf("X-Forwarded-For behind a proxy: %q", got)
	}
	if got := h.Get("X-Forwarded-Host"); got != "evil.example" {
		t.Errorf("X-Forwarded-Host behind a proxy: %q", got)
	}

	resp := http.Header{}
	resp.Set("Connection", "close")
	resp.Set("Transfer-Encoding", "chunked")
	resp.Set("Content-Length", "12")
	resp.Set("Access-Control-Allow-Origin", "*")
	resp.Set("Vary", "Accept-Encoding")
	resp.Set("X-Kept", "1")
	resp.Set("X-Frame-Options", "ALLOWALL")
	resp.Set("Cache-Control", "public, max-age=3600")
	dst := http.Header{"Vary": {"Origin"}}
	middleware.SetSecurityHeaders(dst, false, true)
	copyResponseHeader(dst, resp, false)
	if dst.Get("Connection") != "" || dst.Get("Transfer-Encoding") != "" || dst.Get("Content-Length") != "12" ||
		dst.Get("Access-Control-Allow-Origin") != "" || dst.Get("X-Kept") != "1" ||
		dst.Get("X-Frame-Options") != "DENY" || dst.Get("Cache-Control") != "no-store" ||
		strings.Join(dst.Values("Vary"), ",") != "Origin,Accept-Encoding" {
		t.Errorf("response headers: %v", dst)
	}
	// An anonymous answer keeps the upstream's caching.
	dst = http.Header{}
	middleware.SetSecurityHeaders(dst, false, false)
	copyResponseHeader(dst, resp, false)
	if dst.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("anonymous answer's Cache-Control: %q", dst.Get("Cache-Control"))
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv("HTTP_ADDR", "")
	t.Setenv("CORS_ALLOWED_ORIGINS", " https://a.example , ,https://b.example")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != DefaultAddr || cfg.RateLimitPerMinute != 20 || cfg.RateLimitBurst != 10 ||
		cfg.DefaultRouteTimeout != 10*time.Second || len(cfg.RateLimitPaths) != 3 || len(cfg.TrustedProxies) != 0 {
		t.Errorf("defaults: %+v", cfg)
	}
	if strings.Join(cfg.CORSAllowedOrigins, "|") != "https://a.example|https://b.example" {
		t.Errorf("origins: %q", cfg.CORSAllowedOrigins)
	}
	t.Setenv("TRUSTED_PROXIES", "nonsense")
	if _, err := LoadConfig(); err == nil {
		t.Error("bad TRUSTED_PROXIES accepted")
	}
}
