package outbox

import (
	"context"
	"time"
)

// Queue is where messages wait for delivery: the MySQL outbox table
// (MySQLQueue) or a MongoDB collection (package outbox/mongoqueue). One
// Dispatcher drives either. Several dispatchers (one per instance) may share
// a queue: a claimed message is leased to one of them at a time.
type Queue interface {
	// DueTargets lists the target services that may have pending messages
	// due by now. Listing more costs little (the lane of a target with
	// nothing to claim ends at once); missing one delays its messages to
	// the next round that lists it.
	DueTargets(ctx context.Context, now time.Time) ([]string, error)
	// Claim leases up to req.Limit pending messages of req.Target to
	// req.Owner until req.Until, the earliest due first.
	Claim(ctx context.Context, req ClaimRequest) ([]Claimed, error)
	// Record stores the outcome of an attempt on m and ends its lease; it
	// does nothing if the lease was lost (another dispatcher took over).
	Record(ctx context.Context, m Claimed, o Outcome) error
	// Backlog counts the undelivered messages per target, for metrics.
	Backlog(ctx context.Context) ([]Backlog, error)
}

// DeliveredRetention is how long a delivered message is kept, for
// operators tracing what was sent; receivers stay idempotent on their own
// keys beyond it.
const DeliveredRetention = 7 * 24 * time.Hour

// Housekeeper is a Queue with periodic work of its own (purging delivered
// messages; the MongoDB queue also copies messages a crash left behind);
// the dispatcher runs it.
type Housekeeper interface {
	Housekeep(ctx context.Context, now time.Time) error
}

// Kickable is a Queue that can wake its dispatcher after enqueuing; New
// wires it.
type Kickable interface {
	SetKick(kick func())
}

// ClaimRequest asks for messages of one target.
type ClaimRequest struct {
	Target string
	Now    time.Time
	// AttemptedBefore, when not zero, also qualifies messages last
	// attempted before it, due or not: the target has recovered since, so
	// the backoff they earned while it was down no longer applies.
	AttemptedBefore time.Time
	Limit           int
	Owner           string
	Until           time.Time
}

// Claimed is a leased message.
type Claimed struct {
	Key       string
	Service   string
	Method    string
	Path      string
	Body      []byte
	RequestID string
	Attempts  int
	// Lease is the queue's own handle on the claim.
	Lease any
}

// Result is what became of an attempt.
type Result int

const (
	// Delivered: the receiver accepted (2xx).
	Delivered Result = iota + 1
	// Refused: the receiver refused for good (a 4xx other than auth or
	// throttling); the message ends FAILED.
	Refused
	// Retry: the attempt failed (5xx, transport); counted, and retried
	// after a growing backoff.
	Retry
	// Deferred: the message was not sent because its target is known to
	// be unavailable (open breaker, no healthy instance) or the dispatcher
	// stopped; not counted as an attempt, so no backoff grows.
	Deferred
)

// Outcome of one attempt.
type Outcome struct {
	Result Result
	At     time.Time
	// Next is when the message is due again (Retry, Deferred).
	Next   time.Time
	Status int // the receiver's status, if it answered
	Error  string
}

// Backlog is the number of undelivered messages of one target and status.
type Backlog struct {
	Target string
	Status string
	Count  int
	Oldest time.Time
}
