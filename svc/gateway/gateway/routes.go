package gateway

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hospital/lib/discovery"
	"hospital/lib/routemeta"
)

// Route is one entry of the routing table: an advertised pattern and the
// service that serves it.
type Route struct {
	routemeta.Route
	Service string
	// Timeout is the effective deadline (advertised, default or capped).
	Timeout time.Duration
	order   int // position in the sorted table, for deterministic ties
}

// indexDepth is how many leading literal segments key the lookup index
// ("api/v1/users"): a request is only matched against the patterns sharing
// its first segments, plus the few that start with a wildcard.
const indexDepth = 3

// table is an immutable routing table; a new one replaces it on every change.
type table struct {
	byPrefix map[string][]*Route
	other    []*Route // patterns too short or too generic to index
	size     int
}

// lookup returns the most specific route for path (highest routemeta.Match
// score; equal scores go to the earlier pattern in sorted order).
func (t *table) lookup(path string) (*Route, bool) {
	var best *Route
	bestScore := -1
	consider := func(rs []*Route) {
		for _, r := range rs {
			ok, score := routemeta.Match(r.Pattern, path)
			if !ok {
				continue
			}
			if score > bestScore || (score == bestScore && r.order < best.order) {
				best, bestScore = r, score
			}
		}
	}
	if key, ok := leadingSegments(path, indexDepth); ok {
		consider(t.byPrefix[key])
	}
	consider(t.other)
	return best, best != nil
}

// leadingSegments returns the first n segments of an absolute path without
// the leading slash ("/a/b/c/d" → "a/b/c"); false when it has fewer. It
// returns a substring, so a lookup allocates nothing.
func leadingSegments(p string, n int) (string, bool) {
	if len(p) == 0 || p[0] != '/' {
		return "", false
	}
	seen := 0
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			if seen++; seen == n {
				return p[1:i], true
			}
		}
	}
	if seen == n-1 {
		return p[1:], true
	}
	return "", false
}

// indexKey is the index key of a pattern, or false if requests matching it
// need not share their first indexDepth segments literally.
func indexKey(pattern string) (string, bool) {
	lit := pattern
	if strings.HasSuffix(pattern, "*") {
		// "/a/b/c/*" needs the literal segments a, b, c before the tail.
		lit = strings.TrimSuffix(pattern, "*")
		if strings.Count(lit, "/") <= indexDepth {
			return "", false
		}
	}
	key, ok := leadingSegments(lit, indexDepth)
	if !ok || key == "" {
		return "", false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "{}" {
			return "", false
		}
	}
	return key, true
}

func buildTable(routes []*Route) *table {
	slices.SortFunc(routes, func(a, b *Route) int {
		return cmp.Or(cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Service, b.Service))
	})
	t := &table{byPrefix: map[string][]*Route{}, size: len(routes)}
	for i, r := range routes {
		r.order = i
		if key, ok := indexKey(r.Pattern); ok {
			t.byPrefix[key] = append(t.byPrefix[key], r)
		} else {
			t.other = append(t.other, r)
		}
	}
	return t
}

// serviceRoutes is what one service advertises.
type serviceRoutes struct {
	routes  []routemeta.Route
	healthy int
}

// Router keeps the routing table in step with Consul: routes come from the
// meta of each service's healthy instances (discovery OnChange). A service
// whose instances are all failing keeps its routes, so its clients get a 503
// rather than a 404; a service that leaves the catalog loses them.
type Router struct {
	self           string
	defaultTimeout time.Duration
	maxTimeout     time.Duration
	log            *slog.Logger

	mu       sync.Mutex
	services map[string]*serviceRoutes
	catalog  map[string]bool // nil until the first catalog answer

	table  atomic.Pointer[table]
	synced atomic.Bool
}

// NewRouter returns an empty router that ignores the service named self.
func NewRouter(self string, defaultTimeout, maxTimeout time.Duration, log *slog.Logger) *Router {
	r := &Router{self: self, defaultTimeout: defaultTimeout, maxTimeout: maxTimeout, log: log,
		services: map[string]*serviceRoutes{}}
	r.table.Store(buildTable(nil))
	return r
}

// Lookup returns the route serving path.
func (rt *Router) Lookup(path string) (*Route, bool) { return rt.table.Load().lookup(path) }

// Size is the number of routes in the table.
func (rt *Router) Size() int { return rt.table.Load().size }

// Ready reports whether the routing table has been loaded from Consul once.
func (rt *Router) Ready(context.Context) error {
	if !rt.synced.Load() {
		return errNotSynced
	}
	return nil
}

var errNotSynced = errors.New("routing table not loaded from consul yet")

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
		if old == nil {
			return
		}
		if rt.catalog != nil && !rt.catalog[service] {
			delete(rt.services, service)
			rt.log.Info("service gone; routes removed", "target", service, "routes", len(old.routes))
		} else {
			old.healthy = 0
			rt.log.Warn("service has no healthy instance; its routes answer 503", "target", service)
			return
		}
		rt.rebuild()
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

// SetCatalog takes the names of every registered service (healthy or not)
// and drops the routes of failing services that have left it.
func (rt *Router) SetCatalog(names map[string]bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.catalog = names
	changed := false
	for name, s := range rt.services {
		if s.healthy == 0 && !names[name] {
			delete(rt.services, name)
			rt.log.Info("service deregistered; routes removed", "target", name)
			changed = true
		}
	}
	if changed {
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

// rebuild publishes a new table; callers hold rt.mu. When two services
// advertise the same pattern the alphabetically first one gets it.
func (rt *Router) rebuild() {
	var all []*Route
	owner := map[string]string{}
	names := make([]string, 0, len(rt.services))
	for name := range rt.services {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, r := range rt.services[name].routes {
			if first, dup := owner[r.Pattern]; dup {
				rt.log.Warn("route advertised by several services; keeping the first",
					"pattern", r.Pattern, "kept", first, "ignored", name)
				continue
			}
			owner[r.Pattern] = name
			all = append(all, &Route{Route: r, Service: name, Timeout: rt.timeout(r.Timeout)})
		}
	}
	rt.table.Store(buildTable(all))
}

func (rt *Router) timeout(advertised time.Duration) time.Duration {
	if advertised <= 0 {
		return rt.defaultTimeout
	}
	return min(advertised, rt.maxTimeout)
}

// Follow keeps the table in step with Consul: instance changes of every
// service through the resolver, and the catalog's service names, to tell a
// failing service (keeps its routes, answers 503) from a departed one.
func (rt *Router) Follow(ctx context.Context, res *discovery.Resolver) {
	res.OnChange(rt.SetInstances)
	res.WatchCatalog(func(names map[string]bool) {
		rt.SetCatalog(names)
		if rt.synced.Load() {
			return
		}
		// Ready once every service has answered at least once.
		for name := range names {
			if _, err := res.Instances(ctx, name); err != nil {
				return
			}
		}
		rt.synced.Store(true)
	})
}
