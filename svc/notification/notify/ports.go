package notify

import (
	"context"
	"errors"
	"time"

	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Templates is what the domain needs of the template collection.
type Templates interface {
	TemplatesOfType(ctx context.Context, typ string) ([]Template, error)
	ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, int, error)
	// GetTemplate answers ErrNotFound for an id that names nothing.
	GetTemplate(ctx context.Context, id string) (Template, error)
	// NewTemplateID names a template about to be created.
	NewTemplateID() string
}

// Logs is what the domain needs of the log collection.
type Logs interface {
	// GetLog and GetLogs return logs without their content.
	GetLog(ctx context.Context, id string) (Log, error)
	// GetLogs returns those of ids that exist.
	GetLogs(ctx context.Context, ids []string) ([]Log, error)
	// Contents returns the content kept for each of ids that has one.
	Contents(ctx context.Context, ids []string) (map[string]*Content, error)
	// InsertLogs stores each log unless one with its id exists; then the
	// stored one is returned in its place and inserted[i] is false.
	InsertLogs(ctx context.Context, logs []Log) (stored []Log, inserted []bool, err error)
	ListLogs(ctx context.Context, f LogFilter) ([]Log, int, error)
	// CountChangedSince counts the logs in status last changed at or after
	// since.
	CountChangedSince(ctx context.Context, status string, since time.Time) (int, error)
}

// Changes are the administrators' changes, each recorded together with
// the outbox messages (audit events) it causes. A change is decided on the
// version of its object the caller read (a template's or a FAILED log's
// updated_at) and made only if the object is still at that version; the
// store finishes a change whose writer died midway, so its messages are
// queued once, if and only if it is made. Each answers ErrConflict when
// another change was decided on the same version first (read again and
// decide again, or tell the caller it is being changed), and the template
// changes ErrDuplicate when the type, channel and language are another
// template's (then nothing is changed).
type Changes interface {
	// CreateTemplate stores t under t.ID (NewTemplateID).
	CreateTemplate(ctx context.Context, t Template, msgs ...outbox.Message) error
	// UpdateTemplate replaces the template t.ID, read at version from,
	// with t.
	UpdateTemplate(ctx context.Context, from time.Time, t Template, msgs ...outbox.Message) error
	// DeleteTemplate removes t, as read.
	DeleteTemplate(ctx context.Context, t Template, msgs ...outbox.Message) error
	// RetryLog puts l, a FAILED log as read, back in the queue with a fresh
	// set of attempts, due at at.
	RetryLog(ctx context.Context, l Log, at time.Time, msgs ...outbox.Message) error
	// Enqueue queues msgs in the outbox (the audit events of reads).
	Enqueue(ctx context.Context, msgs ...outbox.Message) error
}

// Claim is the exclusive right to deliver one log until Until. Seq is the
// claim's number for the log; TookOver says an earlier claim had expired,
// so the log may have changed since it was read.
type Claim struct {
	LogID    string
	Seq      int64
	Until    time.Time
	TookOver bool
}

// Outcome is what one delivery attempt leaves on its log. Only the holder
// of claim Seq records it, and the store refuses it once a later claim has
// been recorded.
type Outcome struct {
	LogID string
	Seq   int64
	// Holder is the log's holder when it was claimed: the store may record
	// the outcomes of one batch together.
	Holder        string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	SentAt        *time.Time
	// ProviderMessageID is nil when the log already holds it (an email's
	// Message-ID, stored when the log was created).
	ProviderMessageID *string
	ErrorMessage      *string
	SentBy            string
	UpdatedAt         time.Time
}

// Queue is the delivery queue: the PENDING logs, and claims on them that
// exactly one instance wins even on FerretDB, whose updates are not atomic
// against each other. A claim is an insert under a unique _id derived from
// the log and its claim count (see store).
type Queue interface {
	// DueLogs returns up to limit PENDING logs due by now that are not
	// sensitive (their content is not stored), oldest due first, without
	// their content: those no instance holds, or with anyHolder also those
	// reserved for an instance (whose reservation ran out).
	DueLogs(ctx context.Context, now time.Time, limit int, anyHolder bool) ([]Log, error)
	// Claim tries to claim each log for ttl and returns the claims won.
	Claim(ctx context.Context, logs []Log, now time.Time, ttl time.Duration) ([]Claim, error)
	// Reschedule moves the next attempt of PENDING logs to at and gives
	// them to holder: a lease ahead for logs being delivered, so that other
	// instances' polls skip them, or now and to nobody for logs handed back.
	Reschedule(ctx context.Context, ids []string, at time.Time, holder string) error
	// Record writes outcomes (a log left PENDING is held by nobody) and
	// returns how many were recorded.
	Record(ctx context.Context, outcomes []Outcome) (int, error)
	// QueueStats counts PENDING and FAILED logs by channel and status, and
	// returns the age of the oldest PENDING one.
	QueueStats(ctx context.Context, now time.Time) (map[[2]string]int, time.Duration, error)
}

// Housekeeping is what the retention job needs.
type Housekeeping interface {
	// PurgeContent drops the content of finished logs last updated before
	// before, and returns how many it changed.
	PurgeContent(ctx context.Context, before, now time.Time) (int64, error)
	// PurgeClaims removes delivery claims made before before.
	PurgeClaims(ctx context.Context, before time.Time) (int64, error)
	// PurgeChanges removes the records of finished changes made before
	// before (their messages are in the outbox once they are finished).
	PurgeChanges(ctx context.Context, before time.Time) (int64, error)
}

// Store is the service's database.
type Store interface {
	Templates
	Logs
	Changes
	Queue
	Housekeeping
}

// Directory finds how to reach a user (the user service's contact info);
// userapi.ErrNotFound when there is no such user.
type Directory interface {
	Contact(ctx context.Context, userID int64) (userapi.Contact, error)
}

// Message is one rendered message for one address.
type Message struct {
	LogID            string
	NotificationType string
	To               string
	Subject          string
	HTML             string
	Text             string
}

// Sender delivers messages on one channel (SMTP for EMAIL, an SMS
// provider's HTTP API, FCM for PUSH, or a local sink) and returns the
// provider's id for the message.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
	// Name identifies the adapter in logs and metrics ("smtp", "twilio", ...).
	Name() string
}

// MessageNamer is a Sender that names its messages itself (SMTP sets the
// Message-ID): the name is stored with the log when it is created, so that
// recording the delivery need not write it.
type MessageNamer interface {
	MessageID(logID string) string
}

// Senders maps a channel to its adapter.
type Senders map[string]Sender

// PermanentError means the provider refused the message for good (an
// address that does not exist, a push token that is no longer registered):
// trying again cannot help, so the log ends FAILED at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err is a permanent refusal.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
