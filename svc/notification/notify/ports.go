package notify

import (
	"context"
	"errors"
	"time"

	"hospital/lib/userapi"
)

// Templates is what the domain needs of the template collection.
type Templates interface {
	TemplatesOfType(ctx context.Context, typ string) ([]Template, error)
	ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, int, error)
	// GetTemplate answers ErrNotFound for an id that names nothing.
	GetTemplate(ctx context.Context, id string) (Template, error)
	// InsertTemplate stores t under a new id; ErrDuplicate when its type,
	// channel and language are taken.
	InsertTemplate(ctx context.Context, t Template) (Template, error)
	// ReplaceTemplate overwrites t; ErrNotFound or ErrDuplicate.
	ReplaceTemplate(ctx context.Context, t Template) error
	DeleteTemplate(ctx context.Context, id string) error
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
	// Requeue puts a FAILED log back in the queue with a fresh set of
	// attempts (ErrNotFound when it is not FAILED any more).
	Requeue(ctx context.Context, id string, now time.Time) error
	// CountChangedSince counts the logs in status last changed at or after
	// since.
	CountChangedSince(ctx context.Context, status string, since time.Time) (int, error)
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
}

// Store is the service's database.
type Store interface {
	Templates
	Logs
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
