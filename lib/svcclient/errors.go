package svcclient

import (
	"fmt"
	"time"
)

// Why a service could not be reached (UnavailableError.Reason).
const (
	ReasonNoInstance  = "no_instance"  // no passing instance in Consul
	ReasonBreakerOpen = "breaker_open" // the service's breaker is open
	ReasonTransport   = "transport"    // every attempt failed in transport
)

// UnavailableError means the service could not be reached: no healthy
// instance, an open breaker, or every attempt failed in transport. A caller
// that queues work (an outbox) should not count a breaker_open refusal as a
// failed attempt: nothing was sent.
type UnavailableError struct {
	Service    string
	RetryAfter time.Duration
	Reason     string
	Err        error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("service %s unavailable: %v", e.Service, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// BodyError means the caller's own request body could not be read (its
// client went away, or sent more than allowed). Nothing was counted against
// the service.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "read request body: " + e.Err.Error() }

func (e *BodyError) Unwrap() error { return e.Err }

// StatusError is a non-2xx answer to a JSON call.
type StatusError struct {
	Service string
	Status  int
	Body    []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("service %s answered %d: %s", e.Service, e.Status, truncate(e.Body, 300))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
