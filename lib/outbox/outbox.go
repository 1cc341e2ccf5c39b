// Package outbox makes cross-service side effects (notifications, invoices,
// EHR references) impossible to lose or double. A message is recorded
// together with the state change that causes it: in the same MySQL
// transaction (Enqueue), or, on MongoDB, in the same insert (package
// outbox/mongoqueue). A Dispatcher delivers it right after and keeps retrying
// until the receiver accepts. Each message carries an idempotency key the
// receiver deduplicates on, so a redelivery after a lost answer is harmless.
//
// Delivery is per target service: a backlog to one target never delays a
// message to another. An attempt refused because the target is known to be
// down (its breaker is open, Consul lists no healthy instance) is deferred,
// not counted, so no backoff grows while it is down; when the target is
// healthy again (its breaker closes, Consul reports a passing instance) the
// messages it missed are retried at once.
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"hospital/lib/logging"
	"hospital/lib/mysqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the outbox table (its own goose history table).
func Migrate(ctx context.Context, db *sql.DB) error {
	return mysqldb.Migrate(ctx, db, migrations, "migrations", "goose_outbox_version")
}

// Message is one call to make to another service.
type Message struct {
	// Key is the idempotency key: the same business event must always produce
	// the same key (e.g. "user-registered:42").
	Key     string
	Service string
	Method  string
	Path    string
	Body    any
}

// Status values of a message.
const (
	StatusPending   = "PENDING"
	StatusDelivered = "DELIVERED"
	// StatusFailed: the receiver refused it for good (a 4xx other than
	// auth/rate errors). Counted in metrics and alerted on; never retried
	// automatically.
	StatusFailed = "FAILED"
)

// Prepared is a message as a queue stores it: checked, its method defaulted
// to POST, its body encoded as JSON, with the request ID of the request that
// caused it.
type Prepared struct {
	Key       string `bson:"key"`
	Service   string `bson:"service"`
	Method    string `bson:"method"`
	Path      string `bson:"path"`
	Body      []byte `bson:"body"`
	RequestID string `bson:"request_id,omitempty"`
}

// Prepare checks m and encodes it for storage.
func Prepare(ctx context.Context, m Message) (Prepared, error) {
	if m.Key == "" || m.Service == "" || m.Path == "" {
		return Prepared{}, fmt.Errorf("outbox: message needs key, service and path")
	}
	if m.Method == "" {
		m.Method = "POST"
	}
	body, err := json.Marshal(m.Body)
	if err != nil {
		return Prepared{}, fmt.Errorf("outbox: encode %s: %w", m.Key, err)
	}
	return Prepared{Key: m.Key, Service: m.Service, Method: m.Method, Path: m.Path, Body: body,
		RequestID: logging.RequestID(ctx)}, nil
}

// Enqueue records m in tx. Enqueuing the same key twice keeps the first.
func Enqueue(ctx context.Context, tx *sql.Tx, m Message) error {
	p, err := Prepare(ctx, m)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox_messages
		(idempotency_key, target_service, method, path, body, status, next_attempt_at, created_at, request_id)
		VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)
		ON DUPLICATE KEY UPDATE idempotency_key = idempotency_key`,
		p.Key, p.Service, p.Method, p.Path, p.Body, now, now, nullable(p.RequestID))
	if err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", m.Key, err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Record is a stored message, as shown to tests and operators.
type Record struct {
	ID            int64
	Key           string
	Service       string
	Path          string
	Body          []byte
	Status        string
	Attempts      int
	LastError     string
	LastStatus    int
	NextAttemptAt time.Time
	LastAttemptAt *time.Time
	DeliveredAt   *time.Time
}

// Get returns the message with key.
func Get(ctx context.Context, db *sql.DB, key string) (Record, error) {
	var (
		r       Record
		lastErr sql.NullString
		lastSt  sql.NullInt64
		lastAt  sql.NullTime
		dlv     sql.NullTime
	)
	err := db.QueryRowContext(ctx, `SELECT id, idempotency_key, target_service, path, body, status, attempts,
		last_error, last_status, next_attempt_at, last_attempt_at, delivered_at FROM outbox_messages WHERE idempotency_key = ?`, key).
		Scan(&r.ID, &r.Key, &r.Service, &r.Path, &r.Body, &r.Status, &r.Attempts, &lastErr, &lastSt, &r.NextAttemptAt, &lastAt, &dlv)
	if err != nil {
		return r, fmt.Errorf("outbox: get %s: %w", key, err)
	}
	r.LastError, r.LastStatus = lastErr.String, int(lastSt.Int64)
	if lastAt.Valid {
		r.LastAttemptAt = &lastAt.Time
	}
	if dlv.Valid {
		r.DeliveredAt = &dlv.Time
	}
	return r, nil
}
