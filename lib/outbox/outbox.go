// Package outbox makes cross-service side effects (notifications, invoices,
// EHR references) impossible to lose or double. A message is written in the
// same MySQL transaction as the state change that causes it; a dispatcher
// delivers it right after commit and keeps retrying with backoff until the
// receiver accepts. Each message carries an idempotency key the receiver
// deduplicates on, so a redelivery after a lost answer is harmless.
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

// Enqueue records m in tx. Enqueuing the same key twice keeps the first.
func Enqueue(ctx context.Context, tx *sql.Tx, m Message) error {
	if m.Key == "" || m.Service == "" || m.Path == "" {
		return fmt.Errorf("outbox: message needs key, service and path")
	}
	if m.Method == "" {
		m.Method = "POST"
	}
	body, err := json.Marshal(m.Body)
	if err != nil {
		return fmt.Errorf("outbox: encode %s: %w", m.Key, err)
	}
	now := time.Now().UTC()
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox_messages
		(idempotency_key, target_service, method, path, body, status, next_attempt_at, created_at, request_id)
		VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)
		ON DUPLICATE KEY UPDATE idempotency_key = idempotency_key`,
		m.Key, m.Service, m.Method, m.Path, body, now, now, nullable(logging.RequestID(ctx)))
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
	ID          int64
	Key         string
	Service     string
	Path        string
	Body        []byte
	Status      string
	Attempts    int
	LastError   string
	LastStatus  int
	DeliveredAt *time.Time
}

// Get returns the message with key.
func Get(ctx context.Context, db *sql.DB, key string) (Record, error) {
	var (
		r       Record
		lastErr sql.NullString
		lastSt  sql.NullInt64
		dlv     sql.NullTime
	)
	err := db.QueryRowContext(ctx, `SELECT id, idempotency_key, target_service, path, body, status, attempts,
		last_error, last_status, delivered_at FROM outbox_messages WHERE idempotency_key = ?`, key).
		Scan(&r.ID, &r.Key, &r.Service, &r.Path, &r.Body, &r.Status, &r.Attempts, &lastErr, &lastSt, &dlv)
	if err != nil {
		return r, fmt.Errorf("outbox: get %s: %w", key, err)
	}
	r.LastError, r.LastStatus = lastErr.String, int(lastSt.Int64)
	if dlv.Valid {
		r.DeliveredAt = &dlv.Time
	}
	return r, nil
}
