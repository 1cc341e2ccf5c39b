// Package routemeta is the contract between services and the gateway: each
// service advertises, in its Consul service meta, the public paths it serves,
// which of them need no token, and how long the gateway should wait. The
// gateway builds its routing table from nothing else.
package routemeta

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Route is one advertised path pattern.
//
// Pattern is a path whose segments may be "{}" (any one segment); a trailing
// "*" makes it a prefix match ("/api/v1/users/*" matches everything below).
type Route struct {
	Pattern string
	// Public lists the methods allowed without a token on this pattern.
	Public []string
	// Timeout is the gateway's deadline for requests on this route.
	Timeout time.Duration
}

// keyPrefix names the meta keys; Consul allows 64 keys of 512-char values.
const (
	keyPrefix   = "gw-routes-"
	maxValueLen = 512
)

// Encode packs routes into meta entries.
func Encode(routes []Route) (map[string]string, error) {
	meta := map[string]string{}
	var cur strings.Builder
	n := 0
	flush := func() {
		if cur.Len() > 0 {
			meta[keyPrefix+strconv.Itoa(n)] = cur.String()
			n++
			cur.Reset()
		}
	}
	for _, r := range routes {
		if err := validate(r); err != nil {
			return nil, err
		}
		item := r.Pattern + "|" + r.Timeout.String() + "|" + strings.Join(r.Public, ",")
		if len(item) > maxValueLen {
			return nil, fmt.Errorf("route %q too long for Consul meta", r.Pattern)
		}
		if cur.Len()+1+len(item) > maxValueLen {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(item)
	}
	flush()
	if n > 60 {
		return nil, fmt.Errorf("too many routes for Consul meta (%d keys)", n)
	}
	return meta, nil
}

func validate(r Route) error {
	if !strings.HasPrefix(r.Pattern, "/") || strings.ContainsAny(r.Pattern, " |") {
		return fmt.Errorf("invalid route pattern %q", r.Pattern)
	}
	if strings.Contains(r.Pattern, "*") && !strings.HasSuffix(r.Pattern, "*") {
		return fmt.Errorf("route %q: '*' only at the end", r.Pattern)
	}
	return nil
}

// Decode unpacks the routes in meta; entries it cannot parse are reported.
func Decode(meta map[string]string) ([]Route, error) {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		if strings.HasPrefix(k, keyPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Route
	for _, k := range keys {
		for _, item := range strings.Fields(meta[k]) {
			parts := strings.Split(item, "|")
			if len(parts) != 3 {
				return out, fmt.Errorf("meta %s: bad route %q", k, item)
			}
			r := Route{Pattern: parts[0]}
			if parts[1] != "" && parts[1] != "0s" {
				d, err := time.ParseDuration(parts[1])
				if err != nil {
					return out, fmt.Errorf("meta %s: bad timeout in %q", k, item)
				}
				r.Timeout = d
			}
			if parts[2] != "" {
				r.Public = strings.Split(parts[2], ",")
			}
			if err := validate(r); err != nil {
				return out, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Match reports whether path matches pattern, and how specific the match is
// (longer literal matches win; exact patterns beat prefixes). It runs on
// every request for each candidate pattern, so it walks both strings
// segment by segment and allocates nothing.
func Match(pattern, path string) (bool, int) {
	prefix := strings.HasSuffix(pattern, "*")
	pat := strings.TrimPrefix(strings.TrimSuffix(pattern, "*"), "/")
	rest := strings.TrimPrefix(path, "/")
	np := strings.Count(pat, "/") + 1
	nx := strings.Count(rest, "/") + 1
	if prefix {
		// "/a/b/*" has segments a, b and an empty tail that matches any rest.
		np--
		if nx <= np {
			return false, 0
		}
	} else if nx != np {
		return false, 0
	}
	score := 0
	for range np {
		var p, x string
		p, pat, _ = strings.Cut(pat, "/")
		x, rest, _ = strings.Cut(rest, "/")
		switch {
		case p == "{}":
			if x == "" {
				return false, 0
			}
			score++
		case p == x:
			score += 2
		default:
			return false, 0
		}
	}
	if !prefix {
		score += 1000
	}
	return true, score
}

// IsPublic reports whether method may be used on r without a token.
func (r Route) IsPublic(method string) bool { return slices.Contains(r.Public, method) }
