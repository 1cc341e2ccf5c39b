package httpx

import (
	"net/http"

	"github.com/gorilla/mux"

	"hospital/lib/middleware"
	"hospital/lib/problem"
)

// NewRouter is the router the services used before lib/api; it goes once
// every service declares its routes there.
//
// NewRouter returns the router every service starts from: the matched route
// template recorded for logs and metrics, the given middleware (typically
// auth.Middleware), and 404/405 answered as problems.
func NewRouter(mw ...mux.MiddlewareFunc) *mux.Router {
	r := mux.NewRouter()
	r.Use(middleware.RouteLabel, LimitBody(DefaultMaxBody))
	r.Use(mw...)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Write(w, req, problem.NotFound("Not found."))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		problem.Write(w, req, problem.Newf(http.StatusMethodNotAllowed, "Method %q not allowed.", req.Method))
	})
	return r
}

// Route registers h for path and methods on r.
func Route(r *mux.Router, path string, h HandlerFunc, methods ...string) {
	r.Handle(path, Handle(h)).Methods(methods...)
}
