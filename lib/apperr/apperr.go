// Package apperr holds the errors domain code returns when a request cannot
// be served as asked: a kind (not found, conflict, ...), a message for the
// client and, for invalid input, per-field messages. Domain packages return
// these values and never speak HTTP; lib/problem maps each kind to a status
// and writes the problem+json body, in one place.
//
// An *Error is never changed after it is built, so a package may keep one in
// a variable and return it from every request.
package apperr

import (
	"errors"
	"fmt"
	"maps"
	"time"
)

// Kind says what went wrong, from the client's point of view.
type Kind uint8

// The kinds. Each maps to one HTTP status in lib/problem.
const (
	// KindInvalid: the request is malformed or breaks a rule about its content (400).
	KindInvalid Kind = iota + 1
	// KindUnauthenticated: no valid credentials (401).
	KindUnauthenticated
	// KindForbidden: the caller may not do this (403).
	KindForbidden
	// KindNotFound: no such thing, or the caller may not know it exists (404).
	KindNotFound
	// KindConflict: the request clashes with the current state (409).
	KindConflict
	// KindGone: the thing existed and no longer does, e.g. a used link (410).
	KindGone
	// KindTooLarge: the request body is over the limit (413).
	KindTooLarge
	// KindUnsupportedMedia: the body is not JSON (415).
	KindUnsupportedMedia
	// KindUnprocessable: well-formed but contradicts an earlier request, e.g.
	// an Idempotency-Key reused for another body (422).
	KindUnprocessable
	// KindLocked: locked for now, e.g. an account after failed logins (423).
	KindLocked
	// KindTooManyRequests: the caller must slow down (429).
	KindTooManyRequests
	// KindUnavailable: a dependency is down; the client may retry later (503).
	KindUnavailable
	// KindTimeout: the work did not finish in time (504).
	KindTimeout
)

// Error is a domain error with what the client should be told.
type Error struct {
	Kind   Kind
	Detail string
	// Fields holds per-field messages for Invalid, keyed by JSON field name.
	Fields map[string][]string
	// RetryAfter tells the client when to try again (Unavailable, TooManyRequests, Locked).
	RetryAfter time.Duration
	// Code is a stable machine-readable name for errors clients act on
	// (e.g. "allergy_conflict"); empty for most.
	Code string
	// Extra members of the problem body (e.g. what stock is short).
	Extra map[string]any
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %v", e.Detail, e.Fields)
	}
	return e.Detail
}

// New returns an error of kind with detail.
func New(kind Kind, detail string) *Error { return &Error{Kind: kind, Detail: detail} }

// Newf is New with a formatted detail.
func Newf(kind Kind, format string, args ...any) *Error {
	return New(kind, fmt.Sprintf(format, args...))
}

// Constructors, one per kind.
func Invalid(detail string) *Error         { return New(KindInvalid, detail) }
func Unauthenticated(detail string) *Error { return New(KindUnauthenticated, detail) }
func Forbidden(detail string) *Error       { return New(KindForbidden, detail) }
func NotFound(detail string) *Error        { return New(KindNotFound, detail) }
func Conflict(detail string) *Error        { return New(KindConflict, detail) }
func Gone(detail string) *Error            { return New(KindGone, detail) }
func Unprocessable(detail string) *Error   { return New(KindUnprocessable, detail) }
func Timeout(detail string) *Error         { return New(KindTimeout, detail) }

// Locked, TooManyRequests and Unavailable tell the client when to retry.
func Locked(detail string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindLocked, Detail: detail, RetryAfter: retryAfter}
}

func TooManyRequests(detail string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindTooManyRequests, Detail: detail, RetryAfter: retryAfter}
}

func Unavailable(detail string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindUnavailable, Detail: detail, RetryAfter: retryAfter}
}

// Validation is KindInvalid with per-field messages.
func Validation(fields map[string][]string) *Error {
	return &Error{Kind: KindInvalid, Detail: "The request has invalid fields.", Fields: fields}
}

// Field is KindInvalid for one field.
func Field(field, msg string) *Error {
	return Validation(map[string][]string{field: {msg}})
}

// WithCode returns a copy of e carrying code.
func (e *Error) WithCode(code string) *Error {
	c := *e
	c.Code = code
	return &c
}

// With returns a copy of e with the extra member name set to v.
func (e *Error) With(name string, v any) *Error {
	c := *e
	c.Extra = maps.Clone(e.Extra)
	if c.Extra == nil {
		c.Extra = map[string]any{}
	}
	c.Extra[name] = v
	return &c
}

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries an *Error of kind.
func Is(err error, kind Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == kind
}
