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

	"hospital/lib/apperr"
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

	// Code is a stable machine-readable name for errors clients act on.
	Code string `json:"code,omitempty"`
	// RetryAfter, when set, becomes the Retry-After header.
	RetryAfter time.Duration `json:"-"`
	// Extra members of the body (e.g. what stock is short); the standard
	// members win on a name clash.
	Extra map[string]any `json:"-"`
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

// statusOf is the one table from domain error kinds to HTTP statuses.
var statusOf = map[apperr.Kind]int{
	apperr.KindInvalid:          http.StatusBadRequest,
	apperr.KindUnauthenticated:  http.StatusUnauthorized,
	apperr.KindForbidden:        http.StatusForbidden,
	apperr.KindNotFound:         http.StatusNotFound,
	apperr.KindConflict:         http.StatusConflict,
	apperr.KindGone:             http.StatusGone,
	apperr.KindTooLarge:         http.StatusRequestEntityTooLarge,
	apperr.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.KindUnprocessable:    http.StatusUnprocessableEntity,
	apperr.KindLocked:           http.StatusLocked,
	apperr.KindTooManyRequests:  http.StatusTooManyRequests,
	apperr.KindUnavailable:      http.StatusServiceUnavailable,
	apperr.KindTimeout:          http.StatusGatewayTimeout,
}

// StatusOf is the HTTP status of a domain error kind (500 for an unknown kind).
func StatusOf(k apperr.Kind) int {
	if s, ok := statusOf[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// FromError returns the problem for err: a *Problem in its chain as is, or
// an *apperr.Error mapped to its status. ok is false for any other error
// (an unexpected failure, answered as a bare 500 by the caller).
func FromError(err error) (p *Problem, ok bool) {
	if p, ok := As(err); ok {
		return p, true
	}
	e, ok := apperr.As(err)
	if !ok {
		return nil, false
	}
	p = New(StatusOf(e.Kind), e.Detail)
	p.Errors = e.Fields
	p.RetryAfter = e.RetryAfter
	p.Code = e.Code
	p.Extra = e.Extra
	return p, true
}

// Write sends p as application/problem+json. p itself is not changed: the
// request's path and ID go into a copy, so a problem kept in a variable and
// answered to many requests at once stays the same for all of them.
func Write(w http.ResponseWriter, r *http.Request, p *Problem) {
	out := *p
	if out.Instance == "" && r != nil {
		out.Instance = r.URL.Path
	}
	if out.RetryAfter > 0 {
		secs := int(out.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if out.Type == "" {
		out.Type = "about:blank"
	}
	if out.Title == "" {
		out.Title = http.StatusText(out.Status)
	}
	if out.RequestID == "" {
		out.RequestID = w.Header().Get("X-Request-ID")
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(out.Status)
	_ = json.NewEncoder(w).Encode(out.body())
}

// body is what goes on the wire: the standard members, then Extra's.
func (p *Problem) body() any {
	if len(p.Extra) == 0 {
		return p
	}
	m := make(map[string]any, len(p.Extra)+8)
	for k, v := range p.Extra {
		m[k] = v
	}
	b, _ := json.Marshal(p)
	var std map[string]any
	_ = json.Unmarshal(b, &std)
	for k, v := range std {
		m[k] = v
	}
	return m
}
