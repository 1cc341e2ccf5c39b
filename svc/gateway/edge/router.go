package edge

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/discovery"
	"hospital/lib/routemeta"
)

// serviceRoutes is what one service advertises.
type serviceRoutes struct {
	routes  []routemeta.Route
	healthy int
}

// refusal is a route the gateway will not take, and why: "not_owner" (the
// service may not serve that path, per ROUTE_OWNERS) or "duplicate" (two
// allowed services advertise the same pattern: neither gets it).
type refusal struct {
	service, pattern, reason string
}

// Router keeps the routing table in step with Consul: routes come from the
// meta of each service's healthy instances (discovery OnChange), and only
// from services that own the path (Owners). A service keeps its routes while
// it has no healthy instance, registered or not, so its clients get a 503
// with Retry-After rather than a 404 while it restarts.
type Router struct {
	self           string
	owners         *Owners
	defaultTimeout time.Duration
	maxTimeout     time.Duration
	log            *slog.Logger
	refusedGauge   *prometheus.GaugeVec

	mu       sync.Mutex
	services map[string]*serviceRoutes
	refused  map[refusal]bool

	table  atomic.Pointer[table]
	synced atomic.Bool
}

// NewRouter returns an empty router that takes routes only as owners allow
// and ignores the service named self.
func NewRouter(self string, owners *Owners, defaultTimeout, maxTimeout time.Duration, log *slog.Logger) *Router {
	r := &Router{self: self, owners: owners, defaultTimeout: defaultTimeout, maxTimeout: maxTimeout, log: log,
		services: map[string]*serviceRoutes{}, refused: map[refusal]bool{},
		refusedGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_routes_refused",
			Help: "Advertised routes the gateway refuses, by service and reason (not_owner: outside the service's ROUTE_OWNERS prefixes; duplicate: the same pattern from two services). Any is an operator's alert.",
		}, []string{"service", "reason"}),
	}
	r.table.Store(buildTable(nil))
	return r
}

// Collector exposes the router's metrics.
func (rt *Router) Collector() prometheus.Collector { return rt.refusedGauge }

// Lookup returns the route serving path.
func (rt *Router) Lookup(path string) (*Route, bool) { return rt.table.Load().lookup(path) }

// Routes lists the routes in the table, sorted by pattern.
func (rt *Router) Routes() []*Route { return rt.table.Load().all }

// Size is the number of routes in the table.
func (rt *Router) Size() int { return rt.table.Load().size }

// Ready reports whether the routing table has been loaded from Consul: the
// catalog and every known service have answered once.
func (rt *Router) Ready(context.Context) error {
	if !rt.synced.Load() {
		return errNotSynced
	}
	return nil
}

// Synced is Ready as a bool, for the request path.
func (rt *Router) Synced() bool { return rt.synced.Load() }

var errNotSynced = errors.New("routing table not loaded from consul yet")

// Unavailable reports whether path belongs, by ROUTE_OWNERS, to services
// none of which has a healthy instance now: a path no route matches is then
// a 503 (the service may be restarting, or not seen yet), not a 404.
func (rt *Router) Unavailable(path string) bool {
	owners := rt.owners.OwnersOf(path)
	if len(owners) == 0 {
		return false
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, name := range owners {
		if s := rt.services[name]; s != nil && s.healthy > 0 {
			return false
		}
	}
	return true
}

// SetInstances takes a service's new list of healthy instances (the
// discovery.Resolver OnChange callback).
func (rt *Router) SetInstances(service string, instances []discovery.Instance) {
	if service == rt.self {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := rt.services[service]
	if len(instances) == 0 {
		if old != nil && old.healthy > 0 {
			old.healthy = 0
			rt.log.Warn("service has no healthy instance; its routes answer 503", "target", service)
		}
		return
	}
	routes := rt.decode(service, instances)
	if len(routes) == 0 {
		if old != nil {
			delete(rt.services, service)
			rt.log.Info("service no longer advertises routes", "target", service)
			rt.rebuild()
		}
		return
	}
	rt.services[service] = &serviceRoutes{routes: routes, healthy: len(instances)}
	if old == nil || !slices.EqualFunc(old.routes, routes, sameRoute) {
		rt.log.Info("routes updated", "target", service, "routes", len(routes), "instances", len(instances))
		rt.rebuild()
	}
}

// decode merges the routes every instance advertises (they may differ during
// a rolling upgrade); on conflicting definitions the first instance wins.
func (rt *Router) decode(service string, instances []discovery.Instance) []routemeta.Route {
	seen := map[string]bool{}
	var out []routemeta.Route
	for _, in := range instances {
		routes, err := routemeta.Decode(in.Meta)
		if err != nil {
			rt.log.Warn("bad route advertisement ignored", "target", service, "instance", in.ID, "err", err.Error())
		}
		for _, r := range routes {
			if !seen[r.Pattern] {
				seen[r.Pattern] = true
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b routemeta.Route) int { return cmp.Compare(a.Pattern, b.Pattern) })
	return out
}

func sameRoute(a, b routemeta.Route) bool {
	return a.Pattern == b.Pattern && a.Timeout == b.Timeout && slices.Equal(a.Public, b.Public)
}

// rebuild publishes a new table; callers hold rt.mu. A route is taken only
// from a service that owns its path; a pattern two owners advertise goes to
// neither (settling it by name would let the wrong one serve it).
func (rt *Router) rebuild() {
	claims := map[string][]string{} // pattern → services
	refused := map[refusal]bool{}
	for name, s := range rt.services {
		for _, r := range s.routes {
			if !rt.owners.Allows(name, r.Pattern) {
				refused[refusal{name, r.Pattern, "not_owner"}] = true
				continue
			}
			claims[r.Pattern] = append(claims[r.Pattern], name)
		}
	}
	var all []*Route
	for name, s := range rt.services {
		for _, r := range s.routes {
			switch by := claims[r.Pattern]; {
			case !slices.Contains(by, name):
				// refused above: not this service's path
			case len(by) > 1:
				refused[refusal{name, r.Pattern, "duplicate"}] = true
			default:
				all = append(all, &Route{Route: r, Service: name, Timeout: rt.timeout(r.Timeout)})
			}
		}
	}
	rt.report(refused)
	rt.table.Store(buildTable(all))
}

// report logs newly refused routes as errors (an operator must act) and
// keeps the gauge in step.
func (rt *Router) report(refused map[refusal]bool) {
	for r := range refused {
		if !rt.refused[r] {
			msg := "route refused: the service does not own this path (ROUTE_OWNERS)"
			if r.reason == "duplicate" {
				msg = "route refused: advertised by more than one service; neither serves it"
			}
			rt.log.Error(msg, "target", r.service, "pattern", r.pattern, "reason", r.reason)
		}
	}
	rt.refused = refused
	counts := map[[2]string]int{}
	for r := range refused {
		counts[[2]string{r.service, r.reason}]++
	}
	rt.refusedGauge.Reset()
	for k, n := range counts {
		rt.refusedGauge.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
}

func (rt *Router) timeout(advertised time.Duration) time.Duration {
	if advertised <= 0 {
		return rt.defaultTimeout
	}
	return min(advertised, rt.maxTimeout)
}

// Follow keeps the table in step with Consul: every route owner and every
// service in the catalog is watched (so a service advertising routes it may
// not serve is seen and reported), and the table counts as loaded once the
// catalog and each of those services have answered once.
func (rt *Router) Follow(ctx context.Context, res *discovery.Resolver) {
	res.OnChange(rt.SetInstances)
	for _, name := range rt.owners.Services() {
		res.Watch(name)
	}
	var once sync.Once
	res.WatchCatalog(func(names map[string]bool) {
		once.Do(func() {
			known := slices.Clone(rt.owners.Services())
			for name := range names {
				known = append(known, name)
			}
			go rt.waitSynced(ctx, res, known)
		})
	})
}

func (rt *Router) waitSynced(ctx context.Context, res *discovery.Resolver, services []string) {
	for _, name := range services {
		if _, err := res.Instances(ctx, name); err != nil {
			return // shutting down
		}
	}
	rt.synced.Store(true)
	rt.log.Info("routing table loaded", "routes", rt.Size())
}
