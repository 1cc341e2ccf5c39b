package edge

import (
	"errors"
	"net/http"
	"time"

	"hospital/lib/auth"
	"hospital/lib/logging"
	"hospital/lib/problem"
	"hospital/lib/svcclient"
)

// authenticate checks the caller's token against route: a route that lists
// the method as public needs none, everything else needs a valid one, and a
// token that is present must be valid wherever it is sent. The token itself
// is forwarded untouched: services verify it again and authorize.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, route *Route) *problem.Problem {
	if r.Header.Get("Authorization") == "" {
		if route.IsPublic(r.Method) {
			return nil
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		return problem.Unauthorized("Authentication credentials were not provided.")
	}
	raw, ok := auth.BearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_request"`)
		return problem.Unauthorized("Authorization header must be a Bearer token.")
	}
	id, err := g.verifier.Verify(r.Context(), raw)
	if err != nil {
		var ue *svcclient.UnavailableError
		if errors.As(err, &ue) {
			// The key set could not be fetched: not the caller's fault.
			return problem.Unavailable("Cannot verify tokens right now; try again shortly.", 5*time.Second)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token"`)
		return problem.Unauthorized("Given token not valid for any token type.")
	}
	logging.FieldsFrom(r.Context()).SetUser(id.LogID())
	return nil
}
