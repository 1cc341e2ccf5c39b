package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"hospital/lib/logging"
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

// Handle adapts h to http.Handler, writing any returned error as problem+json.
// Errors that are not problems are logged and answered with a bare 500.
func Handle(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	})
}

// WriteError writes err as problem+json: a *problem.Problem or an
// *apperr.Error (also one an error type offers through errors.As, as the
// inter-service client's UnavailableError does) gets its own status; a
// deadline is a 504; anything else is logged and answered with a bare 500.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := problem.FromError(err); ok {
		problem.Write(w, r, p)
		return
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
	logging.From(r.Context()).ErrorContext(r.Context(), "request failed", "err", err.Error())
	problem.Write(w, r, problem.New(http.StatusInternalServerError, "Internal server error."))
}
