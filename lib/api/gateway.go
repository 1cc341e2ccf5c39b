package api

import (
	"slices"

	"hospital/lib/routemeta"
)

// GatewayRoutes is what the gateway is told to send to this service: one
// exact pattern per path ("{x}" segments become "{}"), the methods that need
// no token, and the longest deadline of its operations. Internal routes are
// never advertised.
func GatewayRoutes(routes []Route) []routemeta.Route {
	var out []routemeta.Route
	index := map[string]int{}
	for _, r := range routes {
		if r.IsInternal() {
			continue
		}
		pattern := pathVar.ReplaceAllString(r.Path, "{}")
		i, ok := index[pattern]
		if !ok {
			i = len(out)
			index[pattern] = i
			out = append(out, routemeta.Route{Pattern: pattern})
		}
		if r.Access.public && !slices.Contains(out[i].Public, r.Method) {
			out[i].Public = append(out[i].Public, r.Method)
		}
		out[i].Timeout = max(out[i].Timeout, r.timeout())
	}
	return out
}
