package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hospital/lib/auth"
	"hospital/lib/routemeta"
	"hospital/lib/testkit"
)

// TestGateway drives a gateway, built as main builds it, over real HTTP,
// against upstreams registered in a real Consul agent.
func TestGateway(t *testing.T) {
	c := testkit.StartConsul(t)
	cfg := testConfig(c)
	cfg.MaxBodyBytes = 4096
	cfg.CORSAllowedOrigins = []string{"https://app.example"}
	cfg.DefaultRouteTimeout = 5 * time.Second
	gw := startGateway(t, cfg)

	signer, pub := newSigner(t)
	var internalHits atomic.Int64
	user := startUpstream(t, c, "user", []routemeta.Route{
		{Pattern: "/api/v1/users/register/", Public: []string{"POST"}},
		{Pattern: "/api/v1/users/login/", Public: []string{"POST"}},
		{Pattern: "/api/v1/users/password/reset/", Public: []string{"POST"}},
		{Pattern: "/api/v1/users/password/reset/confirm/", Public: []string{"POST"}},
		{Pattern: "/api/v1/users/*"},
	}, userStub(signer, &internalHits))
	waitStatus(t, http.MethodPost, gw.URL+"/api/v1/users/register/", http.StatusOK)

	patient := sign(t, signer, auth.Identity{UserID: 7, Role: auth.RolePatient}, time.Hour)
	bearer := "Bearer " + patient

	t.Run("routes follow registrations", func(t *testing.T) {
		// An owner's path before the owner has ever registered: a 503 with
		// Retry-After (it may be starting), never a 404.
		url := gw.URL + "/api/v1/echo/anything"
		resp, body := call(t, http.MethodGet, url, nil)
		problemBody(t, resp, body, http.StatusServiceUnavailable)
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}

		u := startUpstream(t, c, "echo", []routemeta.Route{{Pattern: "/api/v1/echo/*", Public: []string{"GET"}}}, echo("echo"))
		waitServedBy(t, url, "echo")

		// Deregistered (a restart's first step): the routes stay, and
		// clients are told to come back shortly.
		u.deregister(t)
		waitStatus(t, http.MethodGet, url, http.StatusServiceUnavailable)
		resp, body = call(t, http.MethodGet, url, nil)
		problemBody(t, resp, body, http.StatusServiceUnavailable)
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		startUpstream(t, c, "echo", []routemeta.Route{{Pattern: "/api/v1/echo/*", Public: []string{"GET"}}}, echo("echo"))
		waitServedBy(t, url, "echo")
	})

	t.Run("most specific route wins, duplicates refused", func(t *testing.T) {
		startUpstream(t, c, "spec-c", []routemeta.Route{
			{Pattern: "/api/v1/spec/dup/", Public: []string{"GET"}},
			{Pattern: "/api/v1/spec/c-only/", Public: []string{"GET"}},
		}, echo("spec-c"))
		waitServedBy(t, gw.URL+"/api/v1/spec/dup/", "spec-c")

		startUpstream(t, c, "spec-a", []routemeta.Route{{Pattern: "/api/v1/spec/*", Public: []string{"GET"}}}, echo("spec-a"))
		startUpstream(t, c, "spec-b", []routemeta.Route{
			{Pattern: "/api/v1/spec/items/{}/", Public: []string{"GET"}},
			{Pattern: "/api/v1/spec/dup/", Public: []string{"GET"}},
		}, echo("spec-b"))
		waitServedBy(t, gw.URL+"/api/v1/spec/anything/else", "spec-a")
		waitServedBy(t, gw.URL+"/api/v1/spec/items/42/", "spec-b")

		for path, want := range map[string]string{
			// Advertised by spec-b and spec-c: neither serves it, so the
			// next most specific route (spec-a's prefix) does.
			"/api/v1/spec/dup/":           "spec-a",
			"/api/v1/spec/items/special/": "spec-b",
			"/api/v1/spec/items/42/":      "spec-b", // {} beats the prefix
			"/api/v1/spec/items/42/x":     "spec-a",
			"/api/v1/spec/c-only/":        "spec-c",
			"/api/v1/spec/items/":         "spec-a",
		} {
			resp, body := call(t, http.MethodGet, gw.URL+path, nil)
			if got := resp.Header.Get("X-Upstream"); resp.StatusCode != http.StatusOK || got != want {
				t.Errorf("GET %s: %d from %q, want 200 from %q: %s", path, resp.StatusCode, got, want, body)
			}
		}
	})

	t.Run("routes outside a service's prefixes refused", func(t *testing.T) {
		before := user.hits.Load()
		rogue := startUpstream(t, c, "rogue", []routemeta.Route{
			{Pattern: "/api/v1/users/login/", Public: []string{"POST"}},
			{Pattern: "/api/v1/rogue/*", Public: []string{"GET"}},
		}, echo("rogue"))
		waitMetric(t, gw.OpsURL, `gateway_routes_refused{reason="not_owner",service="rogue"} 2`)
		resp, body := call(t, http.MethodPost, gw.URL+"/api/v1/users/password/reset/", strings.NewReader(`{}`))
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Upstream") != "user" {
			t.Fatalf("the owner's route: %d from %q: %s", resp.StatusCode, resp.Header.Get("X-Upstream"), body)
		}
		resp, body = call(t, http.MethodGet, gw.URL+"/api/v1/rogue/x", nil)
		problemBody(t, resp, body, http.StatusNotFound)
		if rogue.hits.Load() != 0 || user.hits.Load() == before {
			t.Fatalf("rogue hits %d", rogue.hits.Load())
		}
	})

	t.Run("forwards request and answer as is", func(t *testing.T) {
		startUpstream(t, c, "relay", []routemeta.Route{{Pattern: "/api/v1/relay/*"}}, echo("relay"))
		waitStatus(t, http.MethodGet, gw.URL+"/api/v1/relay/x", http.StatusOK, "Authorization", bearer)

		resp, body := call(t, http.MethodPost, gw.URL+"/api/v1/relay/items/?status=201&q=a%20b",
			strings.NewReader(`{"a":1}`),
			"Authorization", bearer,
			"Content-Type", "application/json",
			"X-Request-ID", "client-req-0001",
			"X-On-Behalf-Of", "999",
			"X-Caller-Service", "billing",
			"Connection", "X-Hop",
			"X-Hop", "secret",
			"X-Custom", "kept",
			"X-Forwarded-For", "6.6.6.6",
			"X-Client-IP", "6.6.6.6",
			"Idempotency-Key", "k-1",
		)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d, want the upstream's 201: %s", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Upstream") != "relay" || resp.Header.Get("X-Request-ID") != "client-req-0001" {
			t.Errorf("answer headers not relayed: %v", resp.Header)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("an authenticated answer lacks no-store or security headers: %v", resp.Header)
		}
		var got echoed
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		h := got.Header
		checks := map[string][2]string{
			"method":            {got.Method, "POST"},
			"path":              {got.Path, "/api/v1/relay/items/"},
			"query":             {got.Query, "status=201&q=a%20b"},
			"body":              {got.Body, `{"a":1}`},
			"Authorization":     {h.Get("Authorization"), bearer},
			"X-Request-ID":      {h.Get("X-Request-ID"), "client-req-0001"},
			"X-On-Behalf-Of":    {h.Get("X-On-Behalf-Of"), ""},
			"X-Caller-Service":  {h.Get("X-Caller-Service"), "gateway"},
			"X-Hop":             {h.Get("X-Hop"), ""},
			"X-Custom":          {h.Get("X-Custom"), "kept"},
			"Idempotency-Key":   {h.Get("Idempotency-Key"), "k-1"},
			"X-Forwarded-For":   {h.Get("X-Forwarded-For"), "127.0.0.1"},
			"X-Client-IP":       {h.Get("X-Client-IP"), "127.0.0.1"},
			"X-Forwarded-Proto": {h.Get("X-Forwarded-Proto"), "http"},
			"X-Forwarded-Host":  {h.Get("X-Forwarded-Host"), strings.TrimPrefix(gw.URL, "http://")},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("upstream saw %s %q, want %q", name, c[0], c[1])
			}
		}

		// Without a client request ID the gateway mints one and passes it on.
		resp, body = call(t, http.MethodGet, gw.URL+"/api/v1/relay/items/", nil, "Authorization", bearer)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		id := resp.Header.Get("X-Request-ID")
		if id == "" || got.Header.Get("X-Request-ID") != id {
			t.Errorf("request id: answer %q, upstream saw %q", id, got.Header.Get("X-Request-ID"))
		}
	})

	t.Run("tokens", func(t *testing.T) {
		other, _ := newSigner(t)
		valid := jwt.MapClaims{
			"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience, "sub": "7", "role": auth.RoleAdmin,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		}
		none := jwt.NewWithClaims(jwt.SigningMethodNone, valid)
		none.Header["kid"] = auth.KeyID(pub)
		noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, valid)
		hs.Header["kid"] = auth.KeyID(pub)
		hsTok, err := hs.SignedString([]byte(pub))
		if err != nil {
			t.Fatal(err)
		}
		tampered := patient[:len(patient)-4] + "AAAA"
		if tampered == patient {
			tampered = patient[:len(patient)-4] + "BBBB"
		}
		bad := map[string]string{
			"garbage":        "Bearer not.a.token",
			"alg none":       "Bearer " + noneTok,
			"HS256 with key": "Bearer " + hsTok,
			"expired":        "Bearer " + sign(t, signer, auth.Identity{UserID: 7, Role: auth.RolePatient}, -time.Hour),
			"unknown key":    "Bearer " + sign(t, other, auth.Identity{UserID: 7, Role: auth.RolePatient}, time.Hour),
			"tampered":       "Bearer " + tampered,
			"not bearer":     "Basic dXNlcjpwYXNz",
		}
		protected := gw.URL + "/api/v1/users/me/"
		publicURL := gw.URL + "/api/v1/users/register/"
		before := user.hits.Load()

		resp, body := call(t, http.MethodGet, protected, nil)
		problemBody(t, resp, body, http.StatusUnauthorized)
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: %v", resp.Header)
		}
		for name, h := range bad {
			resp, body := call(t, http.MethodGet, protected, nil, "Authorization", h)
			problemBody(t, resp, body, http.StatusUnauthorized)
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without WWW-Authenticate", name)
			}
			// A present but invalid token is refused on public routes too.
			resp, body = call(t, http.MethodPost, publicURL, nil, "Authorization", h)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s on a public route: %d, want 401: %s", name, resp.StatusCode, body)
			}
		}
		// The public method only: GET on the register route needs a token.
		resp, body = call(t, http.MethodGet, publicURL, nil)
		problemBody(t, resp, body, http.StatusUnauthorized)
		if n := user.hits.Load() - before; n != 0 {
			t.Fatalf("%d refused requests reached the upstream", n)
		}

		resp, body = call(t, http.MethodPost, publicURL, strings.NewReader(`{}`))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("public route without token: %d: %s", resp.StatusCode, body)
		}
		resp, body = call(t, http.MethodGet, protected, nil, "Authorization", bearer)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("valid token: %d: %s", resp.StatusCode, body)
		}
		var got echoed
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Header.Get("Authorization") != bearer || got.Header.Get("X-Request-ID") == "" {
			t.Errorf("upstream saw Authorization %q, X-Request-ID %q", got.Header.Get("Authorization"), got.Header.Get("X-Request-ID"))
		}
	})

	t.Run("internal paths refused", func(t *testing.T) {
		svcTok := "Bearer " + sign(t, signer, auth.Identity{Role: auth.RoleService, Service: "billing"}, time.Hour)
		for _, path := range []string{
			"/api/v1/users/internal/service-token/",
			"/api/v1/users/internal/",
			"/api/v1/users/42/Internal/x",
			"/api/v1/users/%69nternal/service-token/",
			"/internal/anything",
		} {
			for _, tok := range []string{svcTok, bearer, ""} {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					resp, body := call(t, method, gw.URL+path, strings.NewReader(`{}`), "Authorization", tok)
					problemBody(t, resp, body, http.StatusNotFound)
				}
			}
		}
		if n := internalHits.Load(); n != 0 {
			t.Fatalf("%d internal requests reached the upstream", n)
		}
	})

	t.Run("malformed paths refused", func(t *testing.T) {
		before := user.hits.Load()
		for _, path := range []string{"/api/v1/users/a%2Fb/", "/api/v1/users/a%2fb/", "/api/v1/users/a%5Cb/"} {
			resp, body := call(t, http.MethodGet, gw.URL+path, nil, "Authorization", bearer)
			problemBody(t, resp, body, http.StatusBadRequest)
		}
		// Dot segments never get this far over HTTP (the server redirects to
		// the clean path); the handler refuses them anyway.
		for _, path := range []string{"/api/v1/users/../users/me/", "/api/v1/users/./me/", "/api/v1/users//me/"} {
			rec := serveDirect(gw, http.MethodGet, path, bearer)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", path, rec.Code)
			}
		}
		if n := user.hits.Load() - before; n != 0 {
			t.Fatalf("%d malformed requests reached the upstream", n)
		}
	})

	t.Run("unknown path", func(t *testing.T) {
		for _, path := range []string{"/api/v1/nothing/here/", "/", "/api/v2/users/me/"} {
			resp, body := call(t, http.MethodGet, gw.URL+path, nil, "Authorization", bearer)
			p := problemBody(t, resp, body, http.StatusNotFound)
			if p["request_id"] == "" || p["request_id"] == nil {
				t.Errorf("problem without request_id: %s", body)
			}
		}
	})

	t.Run("security headers on every answer", func(t *testing.T) {
		for _, c := range []struct {
			method, path, authz string
			status              int
		}{
			{http.MethodGet, "/api/v1/users/me/", bearer, http.StatusOK},
			{http.MethodGet, "/api/v1/users/me/", "", http.StatusUnauthorized},
			{http.MethodGet, "/api/v1/users/me/", "Bearer nonsense", http.StatusUnauthorized},
			{http.MethodPost, "/api/v1/users/register/", "", http.StatusOK},
			{http.MethodGet, "/api/v1/nothing/", "", http.StatusNotFound},
			{http.MethodGet, "/api/v1/users/internal/x/", bearer, http.StatusNotFound},
		} {
			resp, body := call(t, c.method, gw.URL+c.path, strings.NewReader(`{}`), "Authorization", c.authz)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, resp.StatusCode, c.status, body)
			}
			for name, want := range map[string]string{
				"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Content-Security-Policy": "frame-ancestors 'none'", "Referrer-Policy": "no-referrer",
				"Strict-Transport-Security": "", // plain HTTP, no trusted proxy saying otherwise
			} {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s %s: %s = %q, want %q", c.method, c.path, name, got, want)
				}
			}
			// Authenticated answers and errors are never stored; a public
			// answer keeps what its service says.
			noStore := resp.Header.Get("Cache-Control") == "no-store"
			if noStore != (c.authz != "" || c.status >= 400) {
				t.Errorf("%s %s with Authorization %q: Cache-Control %q", c.method, c.path, c.authz, resp.Header.Get("Cache-Control"))
			}
		}
	})

	t.Run("oversized body", func(t *testing.T) {
		before := user.hits.Load()
		big := bytes.Repeat([]byte("x"), 5000)
		resp, body := call(t, http.MethodPost, gw.URL+"/api/v1/users/register/", bytes.NewReader(big))
		problemBody(t, resp, body, http.StatusRequestEntityTooLarge)
		// Chunked, so no Content-Length announces it.
		resp, body = call(t, http.MethodPost, gw.URL+"/api/v1/users/register/", io.MultiReader(bytes.NewReader(big)))
		problemBody(t, resp, body, http.StatusRequestEntityTooLarge)
		if n := user.hits.Load() - before; n != 0 {
			t.Fatalf("%d oversized requests reached the upstream", n)
		}
		resp, body = call(t, http.MethodPost, gw.URL+"/api/v1/users/register/", bytes.NewReader(big[:4000]))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("body under the limit: %d: %s", resp.StatusCode, body)
		}
	})

	t.Run("CORS", func(t *testing.T) {
		before := user.hits.Load()
		origin := "https://app.example"
		resp, body := call(t, http.MethodOptions, gw.URL+"/api/v1/users/me/", nil,
			"Origin", origin,
			"Access-Control-Request-Method", "PATCH",
			"Access-Control-Request-Headers", "authorization,content-type,idempotency-key,x-request-id")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("preflight: %d: %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("Allow-Origin %q", got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); got != "PATCH" {
			t.Errorf("Allow-Methods %q", got)
		}
		if got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") || !strings.Contains(got, "idempotency-key") {
			t.Errorf("Allow-Headers %q", got)
		}
		if n := user.hits.Load() - before; n != 0 {
			t.Fatalf("preflight reached the upstream")
		}

		resp, _ = call(t, http.MethodGet, gw.URL+"/api/v1/users/me/", nil, "Origin", origin, "Authorization", bearer)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")), "x-request-id") {
			t.Errorf("actual request: %d %v", resp.StatusCode, resp.Header)
		}

		resp, _ = call(t, http.MethodOptions, gw.URL+"/api/v1/users/me/", nil,
			"Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("disallowed origin got Allow-Origin %q", got)
		}
		resp, _ = call(t, http.MethodGet, gw.URL+"/api/v1/users/me/", nil, "Origin", "https://evil.example", "Authorization", bearer)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("disallowed origin got Allow-Origin %q", got)
		}
	})

	t.Run("rate limit on login", func(t *testing.T) {
		url := gw.URL + "/api/v1/users/login/"
		// The burst passes; the bucket refills slowly (one every 3s by
		// default), so at most a slow machine's refill more gets through.
		passed := 0
		var resp *http.Response
		var body []byte
		for range cfg.RateLimitBurst + 3 {
			resp, body = call(t, http.MethodPost, url, strings.NewReader(`{}`))
			if resp.StatusCode != http.StatusOK {
				break
			}
			passed++
		}
		if passed < cfg.RateLimitBurst || passed > cfg.RateLimitBurst+2 {
			t.Fatalf("%d requests passed, want the burst of %d", passed, cfg.RateLimitBurst)
		}
		problemBody(t, resp, body, http.StatusTooManyRequests)
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		// Without the trailing slash it is the same bucket.
		resp, _ = call(t, http.MethodPost, strings.TrimSuffix(url, "/"), strings.NewReader(`{}`))
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("login without trailing slash: %d, want 429", resp.StatusCode)
		}
		// Other paths are not limited by it.
		resp, body = call(t, http.MethodPost, gw.URL+"/api/v1/users/password/reset/", strings.NewReader(`{}`))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("password reset: %d: %s", resp.StatusCode, body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, body := call(t, http.MethodGet, gw.OpsURL+"/metrics", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("metrics: %d", resp.StatusCode)
		}
		for _, want := range []string{
			`gateway_upstream_requests_total{code="201",service="relay"}`,
			`http_requests_total{code="200",method="GET",route="/api/v1/users/*"}`,
			`gateway_routes_refused{reason="duplicate",service="spec-b"} 1`,
			`gateway_routes_refused{reason="duplicate",service="spec-c"} 1`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }

// waitMetric waits until the gateway's /metrics contains line.
func waitMetric(t testing.TB, base, line string) {
	t.Helper()
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		_, body := call(t, http.MethodGet, base+"/metrics", nil)
		if !strings.Contains(string(body), line) {
			return errString("metrics lack " + line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
