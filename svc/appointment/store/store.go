// Package store is the appointment service's MySQL database: the only
// place with SQL. Store implements booking.Store; Open connects and applies
// the migrations (the service's own and lib's outbox table).
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/svc/appointment/booking"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationsTable tracks the appointment schema's goose history.
const migrationsTable = "goose_db_version"

// Store is the appointment database.
type Store struct {
	db *sql.DB
}

var _ booking.Store = (*Store)(nil)

// Open connects to dsn and brings the schema up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := mysqldb.OpenMigrated(ctx, dsn, Migrate)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Migrate applies the appointment schema and lib's outbox table to db: the
// one migration entry point (Open calls it; tests that need a bare
// database pass it to testkit.NewMySQL).
func Migrate(ctx context.Context, db *sql.DB) error {
	if err := mysqldb.Migrate(ctx, db, migrations, "migrations", migrationsTable); err != nil {
		return err
	}
	return outbox.Migrate(ctx, db)
}

// New wraps a database Migrate has brought up to date.
func New(db *sql.DB) *Store { return &Store{db: db} }

// DB is the connection pool, for the outbox dispatcher and readiness.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// InTx runs fn in one transaction (again on a deadlock).
func (s *Store) InTx(ctx context.Context, fn func(booking.Tx) error) error {
	return mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error { return fn(&txStore{tx: tx}) })
}

// Enqueue records messages in a transaction of their own.
func (s *Store) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	return mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error { return enqueue(ctx, tx, msgs) })
}

func enqueue(ctx context.Context, tx *sql.Tx, msgs []outbox.Message) error {
	for _, m := range msgs {
		if err := outbox.Enqueue(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// wrap adds what was being done to an unexpected database error.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
