package oversight

import (
	"context"
	"errors"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/settings"
)

// Errors the store reports.
var (
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("not found")
)

// Store is the admin database (package store holds its one implementation
// and all of its SQL).
type Store interface {
	// InTx runs fn in one transaction (again from the start on a deadlock,
	// so fn touches the database only through its Tx).
	InTx(ctx context.Context, fn func(Tx) error) error

	// Entries returns one page of the audit log matching f, newest event
	// first, and how many match.
	Entries(ctx context.Context, f AuditFilter, limit, offset int) ([]Entry, int, error)
	// EntriesFrom returns up to limit entries from position on, in chain
	// order (a verification walks the chain this way).
	EntriesFrom(ctx context.Context, position int64, limit int) ([]Entry, error)
	// Head is the chain head as it is now.
	Head(ctx context.Context) (ChainHead, error)
	// CountsBetween is what the log recorded with timestamps in [from, to).
	CountsBetween(ctx context.Context, from, to time.Time) (Counts, error)

	// Configuration returns one stored configuration, or ErrNotFound.
	Configuration(ctx context.Context, key string) (Configuration, error)
	// Configurations returns every stored configuration, by key.
	Configurations(ctx context.Context) ([]Configuration, error)

	// ReplaceDay recomputes the report rows of one clinic day (events with
	// timestamps in [from, to)), replacing the old ones, and returns how
	// many rows and events it found.
	ReplaceDay(ctx context.Context, day string, from, to, now time.Time) (rows, events int, err error)
	// Activity returns the report rows matching f, newest day first.
	Activity(ctx context.Context, f ActivityFilter) ([]DailyActivity, error)

	// CreateTask stores t as PENDING unless a task of its type is PENDING
	// or RUNNING: then it returns that one and false.
	CreateTask(ctx context.Context, t Task) (Task, bool, error)
	// Task returns one task, or ErrNotFound.
	Task(ctx context.Context, id int64) (Task, error)
	// NextTask returns the oldest task that is PENDING, or RUNNING on a
	// runner that stopped; false when there is none.
	NextTask(ctx context.Context) (Task, bool, error)
	// StartTask marks the task RUNNING on runner and counts the run.
	StartTask(ctx context.Context, id int64, runner string, now time.Time) error
	// TaskProgress records how far the task got.
	TaskProgress(ctx context.Context, id int64, p Progress) error
	// FinishTask records the outcome; the type may be triggered again.
	FinishTask(ctx context.Context, id int64, status string, result []byte, errMsg string, now time.Time) error
}

// Tx is the store inside one transaction.
type Tx interface {
	// LockHead reads the chain head and locks it until the transaction
	// ends: appends are serialised here.
	LockHead(ctx context.Context) (ChainHead, error)
	// Positions returns the positions of the events among ids already in
	// the log.
	Positions(ctx context.Context, ids []string) (map[string]int64, error)
	// Insert appends entries (positions and hashes set).
	Insert(ctx context.Context, entries []Entry) error
	// SetHead moves the chain head.
	SetHead(ctx context.Context, h ChainHead, now time.Time) error
	// LockConfiguration reads one configuration and locks its key (also
	// when it does not exist yet) until the transaction ends; false when
	// it is not stored.
	LockConfiguration(ctx context.Context, key string) (Configuration, bool, error)
	// SaveConfiguration inserts or replaces one configuration.
	SaveConfiguration(ctx context.Context, c Configuration) error
}

// FigureSource asks a service for its dashboard figures
// (adminapi.Client satisfies it).
type FigureSource interface {
	Figures(ctx context.Context, s adminapi.Section) (adminapi.Figures, error)
}

// Publisher puts configuration values where the services follow them
// (settings.Publisher over Consul KV satisfies it).
type Publisher interface {
	Publish(ctx context.Context, name string, value []byte, version uint64) (bool, error)
	Current(ctx context.Context) (map[string]settings.Published, error)
}
