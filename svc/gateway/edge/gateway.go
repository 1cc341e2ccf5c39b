// Package edge is the API gateway at the platform's edge: the one entry point for
// clients. It routes by what services advertise in Consul, verifies JWTs,
// refuses internal paths, rate limits the guessable endpoints, answers CORS,
// and forwards through the shared inter-service client (discovery, retries of
// idempotent requests, a circuit breaker per service).
package edge

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/auth"
	"hospital/lib/health"
	"hospital/lib/logging"
	"hospital/lib/middleware"
	"hospital/lib/problem"
	"hospital/lib/service"
	"hospital/lib/svcclient"
)

// Gateway is the gateway's request handling and the state behind it.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	router   *Router
	client   *svcclient.Client
	verifier *auth.Verifier
	limiter  *rateLimiter
	trusted  []netip.Prefix
	docs     *docs
	handler  http.Handler

	upstream *upstreamMetrics
}

// New builds the gateway on the service's shared parts and starts following
// Consul (for as long as the service runs).
func New(s *service.Service, cfg Config) (*Gateway, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	trusted, _ := parsePrefixes(cfg.TrustedProxies)
	owners, _ := ParseOwners(cfg.RouteOwners)
	g := &Gateway{
		cfg:      cfg,
		log:      s.Log,
		router:   NewRouter(s.Name, owners, cfg.DefaultRouteTimeout, cfg.MaxRouteTimeout, s.Log),
		verifier: s.Verifier(),
		limiter:  newRateLimiter(cfg.RateLimitPaths, cfg.RateLimitPerMinute, cfg.RateLimitBurst),
		trusted:  trusted,
		upstream: newUpstreamMetrics(),
	}
	if err := registerAll(s.Registry, g.upstream.calls, g.router.Collector()); err != nil {
		return nil, fmt.Errorf("register gateway metrics: %w", err)
	}
	// Forwarding uses lib's inter-service client (same discovery, retry,
	// breaker and outlier code) in an instance of its own: its per-attempt
	// timeout is the longest route timeout, since each route's own deadline
	// bounds the call, and its metrics are prefixed to sit beside the
	// service client's.
	g.client = svcclient.New(s.Name, s.Resolver, svcclient.Options{
		AttemptTimeout: cfg.MaxRouteTimeout,
		Registerer:     prometheus.WrapRegistererWithPrefix("gateway_proxy_", s.Registry),
		Logger:         s.Log,
	})
	g.docs = newDocs(g.router, g.client, s.Log)
	g.handler = withCORS(cfg.CORSAllowedOrigins, http.HandlerFunc(g.serve))
	g.router.Follow(s.Context(), s.Resolver)
	return g, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler is the gateway's HTTP handler (service.Run adds request IDs,
// access logs, metrics and panic recovery around it).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Router is the live routing table.
func (g *Gateway) Router() *Router { return g.router }

// Spec is what service.Run serves: the gateway advertises no routes itself.
func (g *Gateway) Spec() service.Spec {
	spec := service.Spec{
		Handler: g.handler,
		Checks:  map[string]health.Check{"routes": g.router.Ready},
	}
	if g.limiter != nil {
		spec.Background = append(spec.Background, g.limiter.janitor)
	}
	return spec
}

// retryShortly is the Retry-After of answers given while a service (or the
// routing table) is not there yet: restarts take seconds.
const retryShortly = 2 * time.Second

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	client := clientIP(r, g.trusted)
	fields := logging.FieldsFrom(r.Context())
	// The access log names the client the gateway believes, not whatever
	// X-Client-IP a client sent.
	fields.SetClientIP(client.String())
	middleware.SetSecurityHeaders(w.Header(), middleware.OverTLS(r, g.trusted), r.Header.Get("Authorization") != "")
	if !cleanPath(r) {
		problem.Write(w, r, problem.BadRequest("Malformed request path."))
		return
	}
	if internalPath(path) {
		// Internal endpoints exist for services calling each other directly;
		// from outside they do not exist, whoever asks.
		problem.Write(w, r, problem.NotFound("Not found."))
		return
	}
	if g.docs.serves(path) {
		fields.SetRoute(docsPrefix + "*")
		g.docs.ServeHTTP(w, r)
		return
	}
	if key, ok := g.limiter.applies(path); ok {
		if allowed, wait := g.limiter.allow(client, key, time.Now()); !allowed {
			secs := int((wait + time.Second - 1) / time.Second)
			p := problem.New(http.StatusTooManyRequests, "Request was throttled. Expected available in "+strconv.Itoa(secs)+" seconds.")
			p.RetryAfter = time.Duration(secs) * time.Second
			problem.Write(w, r, p)
			return
		}
	}
	if !g.router.Synced() {
		// Up but not yet routing: a 404 now would be a lie.
		problem.Write(w, r, problem.Unavailable("The gateway is starting; try again shortly.", time.Second))
		return
	}
	route, ok := g.router.Lookup(path)
	if !ok {
		if g.router.Unavailable(path) {
			problem.Write(w, r, problem.Unavailable("The service is unavailable; try again shortly.", retryShortly))
			return
		}
		problem.Write(w, r, problem.NotFound("Not found."))
		return
	}
	fields.SetRoute(route.Pattern)
	if p := g.authenticate(w, r, route); p != nil {
		problem.Write(w, r, p)
		return
	}
	g.forward(w, r, route, client)
}

// cleanPath refuses paths that could mean something else to an upstream than
// to the router: dot segments, empty segments, encoded slashes or
// backslashes, control characters.
func cleanPath(r *http.Request) bool {
	p := r.URL.Path
	if p == "" || p[0] != '/' || strings.Contains(p, "//") || strings.ContainsRune(p, '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	raw := strings.ToLower(r.URL.RawPath)
	return !strings.Contains(raw, "%2f") && !strings.Contains(raw, "%5c")
}

// internalPath reports whether any segment of path is "internal".
func internalPath(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if strings.EqualFold(seg, "internal") {
			return true
		}
	}
	return false
}
