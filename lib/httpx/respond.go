package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"hospital/lib/problem"
)

// WriteJSON sends v with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// HandlerFunc is a handler that reports failure by returning an error, so
// handlers stay short and every error reaches the client in one format.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ErrorMapper turns a non-problem error into a problem, or returns nil.
// Packages such as the inter-service client register one at start-up.
type ErrorMapper func(error) *problem.Problem

var mappers []ErrorMapper

// RegisterErrorMapper adds m to the mappers consulted by Handle.
func RegisterErrorMapper(m ErrorMapper) { mappers = append(mappers, m) }

// Handle adapts h to http.Handler, writing any returned error as problem+json.
// Errors that are not problems are logged and answered with a bare 500.
func Handle(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	})
}

// WriteError writes err as problem+json (see Handle).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := problem.As(err); ok {
		problem.Write(w, r, p)
		return
	}
	for _, m := range mappers {
		if p := m(err); p != nil {
			problem.Write(w, r, p)
			return
		}
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads this response.
		w.WriteHeader(499)
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		problem.Write(w, r, problem.New(http.StatusGatewayTimeout, "The request took too long to complete."))
		return
	}
	slog.ErrorContext(r.Context(), "request failed", "err", err.Error())
	problem.Write(w, r, problem.New(http.StatusInternalServerError, "Internal server error."))
}
