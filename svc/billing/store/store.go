// Package store is the billing service's MySQL store: the only place with
// SQL. Open connects and migrates; Store serves the domain's reads and Tx
// its writes inside one transaction.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"hospital/lib/idempotency"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/svc/billing/invoicing"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the billing database.
type Store struct{ db *sql.DB }

// Open connects to dsn, waiting up to ctx for the server, and applies the
// service's migrations and lib's (outbox, idempotency keys).
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := mysqldb.OpenMigrated(ctx, dsn, Migrate)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// New wraps an open, migrated database.
func New(db *sql.DB) *Store { return &Store{db: db} }

// Migrate applies every migration the billing database needs.
func Migrate(ctx context.Context, db *sql.DB) error {
	if err := mysqldb.Migrate(ctx, db, migrations, "migrations", "goose_billing_version"); err != nil {
		return err
	}
	if err := outbox.Migrate(ctx, db); err != nil {
		return err
	}
	return idempotency.Migrate(ctx, db)
}

// DB is the handle (for the outbox dispatcher and health checks).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// InTx runs fn in a transaction, again on a deadlock.
func (s *Store) InTx(ctx context.Context, fn func(tx invoicing.Tx) error) error {
	return mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error { return fn(&Tx{ctx: ctx, tx: tx}) })
}

// Tx is the store inside one transaction.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t *Tx) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, q, args...)
}

// BeginKey claims an idempotency key.
func (t *Tx) BeginKey(scope, key, fp string) (*idempotency.Stored, error) {
	return idempotency.Begin(t.ctx, t.tx, scope, key, fp)
}

// FinishKey stores the answer for key.
func (t *Tx) FinishKey(scope, key string, status int, body []byte) error {
	return idempotency.Finish(t.ctx, t.tx, scope, key, status, body)
}

// Enqueue puts messages in the outbox.
func (t *Tx) Enqueue(msgs ...outbox.Message) error {
	for _, m := range msgs {
		if err := outbox.Enqueue(t.ctx, t.tx, m); err != nil {
			return err
		}
	}
	return nil
}

// NextInvoiceNumber takes the next number of year: INV-<year>-<6 digits>.
// The year's counter row is locked until the transaction ends, so numbers
// are gap-free as long as transactions commit.
func (t *Tx) NextInvoiceNumber(year int) (string, error) {
	if _, err := t.exec(`INSERT INTO invoice_sequences (year, last_number) VALUES (?, LAST_INSERT_ID(1))
		ON DUPLICATE KEY UPDATE last_number = LAST_INSERT_ID(last_number + 1)`, year); err != nil {
		return "", err
	}
	var n int64
	if err := t.tx.QueryRowContext(t.ctx, `SELECT LAST_INSERT_ID()`).Scan(&n); err != nil {
		return "", err
	}
	return fmt.Sprintf("INV-%d-%06d", year, n), nil
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return invoicing.ErrNotFound
	}
	return err
}

func duplicate(err error) error {
	if mysqldb.IsDuplicate(err) {
		return invoicing.ErrDuplicate
	}
	return err
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}
