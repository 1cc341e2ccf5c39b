package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/logging"
	"hospital/lib/middleware"
	"hospital/lib/problem"
)

// TokenVerifier checks a bearer token (lib/auth's Verifier).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

// Options configure Handler.
type Options struct {
	// Verifier checks bearer tokens; required unless every route is public.
	Verifier TokenVerifier
	// MaxBody bounds request bodies (httpx.DefaultMaxBody when zero).
	MaxBody int64
	// PublicBaseURL is where clients reach the platform; pagination links
	// are built from it.
	PublicBaseURL string
	// StoreDown reports an error that means the service's database could
	// not be reached (mysqldb.Unreachable, mongodb.Unreachable): the client
	// gets a 503 with Retry-After instead of a 500.
	StoreDown func(error) bool
}

var (
	errNoCredentials    = apperr.Unauthenticated("Authentication credentials were not provided.")
	errForbidden        = apperr.Forbidden("You do not have permission to perform this action.")
	errServiceForbidden = apperr.Forbidden("This service may not call this endpoint.")
	errBadToken         = apperr.Unauthenticated("Given token not valid for any token type.")
	errNoKeys           = apperr.Unavailable("Cannot verify tokens right now.", 5*time.Second)
	errNotFound         = problem.NotFound("Not found.")
	errStoreDown        = apperr.Unavailable("The service's database cannot be reached right now; try again shortly.", 2*time.Second)
)

// Handler serves routes: token verification, the body limit, each route's
// access check before its handler, and 404/405 answered as problems.
func Handler(routes []Route, opts Options) (http.Handler, error) {
	if err := Check(routes); err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	r.Use(middleware.RouteLabel, httpx.LimitBody(opts.MaxBody), httpx.PublicBaseURL(opts.PublicBaseURL))
	if opts.Verifier != nil {
		r.Use(authenticate(opts.Verifier))
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Write(w, req, errNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Write(w, req, problem.Newf(http.StatusMethodNotAllowed, "Method %q not allowed.", req.Method))
	})
	for _, rt := range routes {
		if !rt.Access.public && opts.Verifier == nil {
			return nil, errors.New("api: routes need a token verifier")
		}
		r.Handle(rt.Path, guard(rt, opts.StoreDown)).Methods(rt.Method)
	}
	return r, nil
}

// guard answers 401/403 for a caller the route does not admit, before the
// handler reads anything.
func guard(rt Route, storeDown func(error) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := auth.FromContext(r.Context())
		if err := rt.Access.Admits(id, ok); err != nil {
			if apperr.Is(err, apperr.KindUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hospital"`)
			}
			httpx.WriteError(w, r, err)
			return
		}
		if err := rt.Handler(w, r); err != nil {
			if _, known := problem.FromError(err); !known && storeDown != nil && storeDown(err) {
				logging.From(r.Context()).WarnContext(r.Context(), "database unreachable", "err", err.Error())
				err = errors.Join(err, errStoreDown)
			}
			httpx.WriteError(w, r, err)
		}
	})
}

// authenticate verifies a bearer token when one is present and puts the
// identity in the context; a present but invalid token is a 401 even on a
// public route (a client sending a bad token wants to know).
func authenticate(v TokenVerifier) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := auth.BearerToken(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			id, err := v.Verify(r.Context(), raw)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				if errors.Is(err, auth.ErrInvalidToken) {
					httpx.WriteError(w, r, errBadToken)
				} else {
					// The key set could not be fetched: not the caller's fault.
					httpx.WriteError(w, r, errNoKeys)
				}
				return
			}
			logging.FieldsFrom(r.Context()).SetUser(id.LogID())
			next.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
		})
	}
}
