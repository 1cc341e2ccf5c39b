package edge

import (
	"cmp"
	"slices"
	"strings"
	"time"

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
	all      []*Route // sorted by pattern
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
	t := &table{byPrefix: map[string][]*Route{}, all: routes, size: len(routes)}
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
