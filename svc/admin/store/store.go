// Package store is the admin service's MySQL database: the only place
// with SQL. Store implements oversight.Store; Open connects and applies
// the migrations.
//
// Why MySQL for the audit log too (the spec's example puts it in MongoDB):
// the chain needs appends that are serialised across every request and
// instance, which one locked row in a transaction gives (FerretDB has no
// transactions and no atomic update), and the log is searched by time
// ranges combined with user, patient or service, which MySQL serves from
// composite indexes while FerretDB applies ranges and sorts in memory
// (docs/ARCHITECTURE.md). The flexible part of an event, its details, is a
// JSON text column.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"hospital/lib/mysqldb"
	"hospital/svc/admin/oversight"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationsTable tracks the admin schema's goose history.
const migrationsTable = "goose_db_version"

// Store is the admin database.
type Store struct {
	db *sql.DB
}

var _ oversight.Store = (*Store)(nil)

// Open connects to dsn and brings the schema up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := mysqldb.OpenMigrated(ctx, dsn, Migrate)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Migrate applies the admin schema to db: the one migration entry point
// (Open calls it; tests pass it to testkit.NewMySQL). The admin service
// has no outbox: what it tells others goes to Consul KV, which it
// reconciles itself (oversight.SyncConfigurations).
func Migrate(ctx context.Context, db *sql.DB) error {
	return mysqldb.Migrate(ctx, db, migrations, "migrations", migrationsTable)
}

// New wraps a database Migrate has brought up to date.
func New(db *sql.DB) *Store { return &Store{db: db} }

// DB is the connection pool, for readiness.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// InTx runs fn in one transaction (again on a deadlock).
func (s *Store) InTx(ctx context.Context, fn func(oversight.Tx) error) error {
	return mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error { return fn(&txStore{tx: tx}) })
}

// txStore is the store inside one transaction.
type txStore struct {
	tx *sql.Tx
}

var _ oversight.Tx = (*txStore)(nil)

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
