package user

import (
	"context"
	"database/sql"
	"embed"

	"hospital/lib/idempotency"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable tracks the user schema's goose history.
const MigrationsTable = "goose_db_version"

// Migrate brings the database up to date: the user schema and the outbox and
// idempotency tables of lib.
func Migrate(ctx context.Context, db *sql.DB) error {
	if err := mysqldb.Migrate(ctx, db, migrations, "migrations", MigrationsTable); err != nil {
		return err
	}
	if err := outbox.Migrate(ctx, db); err != nil {
		return err
	}
	return idempotency.Migrate(ctx, db)
}
