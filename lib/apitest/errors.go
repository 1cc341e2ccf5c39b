package apitest

import (
	"net/http"
	"testing"

	"hospital/lib/apperr"
	"hospital/lib/problem"
)

// Status is the HTTP status a domain error is answered with (200 for nil,
// 500 for an error that is no domain error): what a domain test asserts
// without going through HTTP.
func Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if p, ok := problem.FromError(err); ok {
		return p.Status
	}
	return http.StatusInternalServerError
}

// ExpectStatus fails t unless err is answered with status.
func ExpectStatus(t testing.TB, what string, err error, status int) {
	t.Helper()
	if got := Status(err); got != status {
		t.Fatalf("%s: status %d, want %d (%v)", what, got, status, err)
	}
}

// FieldErrors is the messages of field in err (an invalid-input error).
func FieldErrors(err error, field string) []string {
	if e, ok := apperr.As(err); ok {
		return e.Fields[field]
	}
	return nil
}
