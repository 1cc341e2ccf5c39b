package accounts

import (
	"context"
	"errors"
	"time"

	"hospital/lib/auth"
	"hospital/lib/idempotency"
	"hospital/lib/outbox"
)

// Store is everything the domain keeps. Package store implements it over
// MySQL; InTx runs fn with a Store bound to one transaction.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	Users
	Sessions
	Resets
	EmailTokens
	LoginThrottle
	Outbox
	RevocationLog
	// WithLock runs fn only if no other instance runs a job of this name
	// right now (ran is false then).
	WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error)
}

// Users are the accounts and their roles.
type Users interface {
	UserByID(ctx context.Context, id int64) (Account, error)
	// UserByIDForUpdate locks the row until the transaction ends.
	UserByIDForUpdate(ctx context.Context, id int64) (Account, error)
	// UserByIDShared locks the row against changes (not reads) until the
	// transaction ends: tokens are issued under it, so a revocation, which
	// changes the row first, is ordered after every token it must refuse.
	UserByIDShared(ctx context.Context, id int64) (Account, error)
	UserByUsername(ctx context.Context, username string) (Account, error)
	UserByEmail(ctx context.Context, email string) (Account, error)
	// InsertUser returns ErrTaken when a unique field is in use.
	InsertUser(ctx context.Context, a NewAccount) (int64, error)
	// TakenFields names the unique fields (username, email, phone_number)
	// already held by a user other than except.
	TakenFields(ctx context.Context, username, email string, phone *string, except int64) (map[string]bool, error)
	ListUsers(ctx context.Context, f ListFilter) ([]User, int, error)
	SetPassword(ctx context.Context, userID int64, hash string) error
	SetActive(ctx context.Context, userID int64, active bool) error
	// UpdateProfile writes the account's editable fields (not the password,
	// role or activity); a *TakenError as InsertUser.
	UpdateProfile(ctx context.Context, a Account) error
	// CountWithRoleLocked counts the users of role, holding the role row's
	// lock until the transaction ends (the bootstrap admin check).
	CountWithRoleLocked(ctx context.Context, role string) (int, error)
	// CountByRole counts the users of each role, active and not.
	CountByRole(ctx context.Context) (map[string]RoleCount, error)
}

// RoleCount is how many users a role has.
type RoleCount struct{ Active, Inactive int }

// Sessions are the refresh tokens: one family per sign-in.
type Sessions interface {
	InsertRefresh(ctx context.Context, t RefreshToken) error
	RefreshByHashForUpdate(ctx context.Context, hash string) (RefreshToken, error)
	MarkRefreshUsed(ctx context.Context, id int64, at time.Time) error
	// RevokeFamily ends one session.
	RevokeFamily(ctx context.Context, family string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID int64, at time.Time) error
}

// Resets are the password-reset tokens.
type Resets interface {
	InsertReset(ctx context.Context, hash string, userID int64, created, expires time.Time) (int64, error)
	ResetByHash(ctx context.Context, hash string, forUpdate bool) (ResetToken, error)
	// ResetStats counts the user's reset tokens created since, and when the
	// last one was (zero when none).
	ResetStats(ctx context.Context, userID int64, since time.Time) (int, time.Time, error)
	// ConsumeResets spends every unused token of the user.
	ConsumeResets(ctx context.Context, userID int64, at time.Time) error
}

// EmailTokens are the links that confirm an email address.
type EmailTokens interface {
	InsertEmailToken(ctx context.Context, t EmailToken) (int64, error)
	EmailTokenByHashForUpdate(ctx context.Context, hash string) (EmailToken, error)
	UseEmailToken(ctx context.Context, id int64, at time.Time) error
}

// LoginThrottle counts failed sign-ins (see throttle.go).
type LoginThrottle interface {
	// LockCounter returns the counter, created if missing, locked until
	// the transaction ends.
	LockCounter(ctx context.Context, k CounterKey) (Counter, error)
	SaveCounter(ctx context.Context, c Counter) error
	// ClearAccount deletes every counter about account.
	ClearAccount(ctx context.Context, account string) error
	// Cleanup deletes tokens expired before cutoff and counters quiet since
	// staleBefore and not blocking at now.
	Cleanup(ctx context.Context, cutoff, staleBefore, now time.Time) error
}

// Outbox is what must happen elsewhere, recorded with the change that
// causes it, and the answers kept for idempotent retries.
type Outbox interface {
	Enqueue(ctx context.Context, m outbox.Message) error
	BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (*idempotency.Stored, error)
	FinishIdempotent(ctx context.Context, scope, key string, status int, body []byte) error
}

// RevocationLog holds revocations until they are published to every
// service (Consul KV, through a RevocationPublisher).
type RevocationLog interface {
	RecordRevocation(ctx context.Context, r Revocation) error
	UnpublishedRevocations(ctx context.Context, limit int) ([]Revocation, error)
	MarkPublished(ctx context.Context, r Revocation, at time.Time) error
	// PublishedRevocationsSince returns the revocations published once and
	// revoked at or after since (unpublished ones are PublishRevocations').
	PublishedRevocationsSince(ctx context.Context, since time.Time) ([]Revocation, error)
	DeleteRevocationsBefore(ctx context.Context, cutoff time.Time) error
}

// RevocationPublisher tells every service which tokens are revoked
// (lib/auth's RevocationPublisher, over Consul KV).
type RevocationPublisher interface {
	RevokeUser(ctx context.Context, userID int64, before time.Time) error
	RevokeSession(ctx context.Context, sid string, at time.Time) error
	Prune(ctx context.Context, olderThan time.Time) (int, error)
	// Published lists what Consul holds now.
	Published(ctx context.Context) ([]auth.RevocationEntry, error)
}

// Revocation kinds.
const (
	RevokeUser    = auth.RevokedUsers    // the user's tokens issued at or before At
	RevokeSession = auth.RevokedSessions // every token of the session
)

// Revocation ends tokens before their expiry.
type Revocation struct {
	Kind    string
	Subject string // user id or session id
	At      time.Time
}

// CounterKey names a failed-login counter.
type CounterKey struct {
	Scope   string // ScopePair, ScopeClient or ScopeAccount
	Account string // case-folded username, "svc:<name>"; "" for ScopeClient
	Client  string // the caller's address; "" for ScopeAccount
}

// Counter scopes.
const (
	ScopePair    = "pair"
	ScopeClient  = "client"
	ScopeAccount = "account"
)

// Counter is failed sign-ins of one key.
type Counter struct {
	Key          CounterKey
	Failures     int
	LastFailure  time.Time // zero: none
	BlockedUntil time.Time // zero: not blocked
}

var (
	// ErrNotFound: the store has no such row.
	ErrNotFound = errors.New("not found")
	// ErrNotInTx: a write that needs a transaction was made outside one.
	ErrNotInTx = errors.New("store: not in a transaction")
)

// TakenError is a unique-key violation on a user field.
type TakenError struct{ Field string }

func (e *TakenError) Error() string { return "taken: " + e.Field }
