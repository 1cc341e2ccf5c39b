// Package store is the user service's MySQL store: the only place with SQL.
// It implements accounts.Store.
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
	"hospital/svc/user/accounts"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable tracks the user schema's goose history.
const MigrationsTable = "goose_db_version"

// Migrate brings the database up to date: the user schema and lib's outbox
// and idempotency tables. It is the one migration entry point.
func Migrate(ctx context.Context, db *sql.DB) error {
	if err := mysqldb.Migrate(ctx, db, migrations, "migrations", MigrationsTable); err != nil {
		return err
	}
	if err := outbox.Migrate(ctx, db); err != nil {
		return err
	}
	return idempotency.Migrate(ctx, db)
}

// Open connects to dsn and migrates.
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := mysqldb.OpenMigrated(ctx, dsn, Migrate)
	if err != nil {
		return nil, err
	}
	return New(db), nil
}

// Store runs the queries on the database, or on one transaction of it.
type Store struct {
	db *sql.DB
	tx *sql.Tx
}

var _ accounts.Store = (*Store)(nil)

// New returns a store over db (already migrated).
func New(db *sql.DB) *Store { return &Store{db: db} }

// DB is the connection pool (for the outbox dispatcher and readiness).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) q() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

// InTx runs fn in a transaction (retried on deadlocks, see mysqldb.InTx);
// inside one already, fn joins it.
func (s *Store) InTx(ctx context.Context, fn func(tx accounts.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error { return fn(&Store{db: s.db, tx: tx}) })
}

// Enqueue records m in the transaction's outbox.
func (s *Store) Enqueue(ctx context.Context, m outbox.Message) error {
	if s.tx == nil {
		return accounts.ErrNotInTx
	}
	return outbox.Enqueue(ctx, s.tx, m)
}

// BeginIdempotent claims an Idempotency-Key (see idempotency.Begin).
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (*idempotency.Stored, error) {
	if s.tx == nil {
		return nil, accounts.ErrNotInTx
	}
	return idempotency.Begin(ctx, s.tx, scope, key, fingerprint)
}

// FinishIdempotent stores the answer for key.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key string, status int, body []byte) error {
	if s.tx == nil {
		return accounts.ErrNotInTx
	}
	return idempotency.Finish(ctx, s.tx, scope, key, status, body)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return accounts.ErrNotFound
	}
	return err
}

func exec(ctx context.Context, q querier, what, query string, args ...any) error {
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
