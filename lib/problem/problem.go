// Package problem implements RFC 9457 problem details, the error body of every
// endpoint on the platform. It carries a DRF-compatible "detail" member and
// per-field "errors" so clients written against the spec can read it.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// Problem is both an error and the JSON body written for it.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail"`
	Instance string              `json:"instance,omitempty"`
	Errors   map[string][]string `json:"errors,omitempty"`
	// RequestID lets a user quote the failing request to ops.
	RequestID string `json:"request_id,omitempty"`

	// RetryAfter, when set, becomes the Retry-After header.
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// New builds a problem with the standard title for status.
func New(status int, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

// Newf is New with a formatted detail.
func Newf(status int, format string, args ...any) *Problem {
	return New(status, fmt.Sprintf(format, args...))
}

// Validation is a 400 carrying per-field messages.
func Validation(errs map[string][]string) *Problem {
	p := New(http.StatusBadRequest, "The request has invalid fields.")
	p.Errors = errs
	return p
}

// Field is a 400 for a single invalid field.
func Field(field, msg string) *Problem {
	return Validation(map[string][]string{field: {msg}})
}

func BadRequest(detail string) *Problem   { return New(http.StatusBadRequest, detail) }
func Unauthorized(detail string) *Problem { return New(http.StatusUnauthorized, detail) }
func Forbidden(detail string) *Problem    { return New(http.StatusForbidden, detail) }
func NotFound(detail string) *Problem     { return New(http.StatusNotFound, detail) }
func Conflict(detail string) *Problem     { return New(http.StatusConflict, detail) }

// Unavailable is a 503 telling the client when to try again.
func Unavailable(detail string, retryAfter time.Duration) *Problem {
	p := New(http.StatusServiceUnavailable, detail)
	p.RetryAfter = retryAfter
	return p
}

// As extracts a *Problem from err's chain.
func As(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// Write sends p as application/problem+json.
func Write(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	if p.RetryAfter > 0 {
		secs := int(p.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.RequestID == "" {
		p.RequestID = w.Header().Get("X-Request-ID")
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
