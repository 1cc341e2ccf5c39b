// Package mysqldb opens a service's MySQL database and applies its embedded
// goose migrations. The SQL used across the platform runs on MySQL 8 and
// MariaDB 10.11 alike (no RETURNING, no CHECK-dependent logic).
package mysqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
)

// Connection limits that make an outage of the store answer fast (a 503, see
// Unreachable) instead of making requests wait. DSN parameters override
// them (timeout, readTimeout, writeTimeout).
const (
	// DialTimeout bounds opening a TCP connection.
	DialTimeout = time.Second
	// HandshakeTimeout bounds the server's greeting and login on a new
	// connection: a stopped (SIGSTOP) or wedged server accepts the TCP
	// connection in the kernel and then says nothing.
	HandshakeTimeout = time.Second
	// IOTimeout is the last resort for a server that stops answering on an
	// open connection; the request's own deadline normally ends the wait
	// first. It also bounds the longest single query.
	IOTimeout = 30 * time.Second
)

// OpenMigrated opens dsn and applies the service's schema (migrate, its
// store's one migration entry point) before anything uses it.
func OpenMigrated(ctx context.Context, dsn string, migrate func(context.Context, *sql.DB) error) (*sql.DB, error) {
	db, err := Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Open connects with settings the services share (UTC, parsed times) and
// waits, up to ctx, for the server to answer: at start-up the database may
// still be coming up.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MYSQL_DSN: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.MultiStatements = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	if cfg.Timeout == 0 {
		cfg.Timeout = DialTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = IOTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = IOTimeout
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connector: %w", err)
	}
	db := sql.OpenDB(handshakeBound{connector, HandshakeTimeout})
	db.SetMaxOpenConns(25)
	db.SetMaxIdleConns(25)
	db.SetConnMaxLifetime(5 * time.Minute)
	backoff := 100 * time.Millisecond
	var last error // the last failure that was the server's, not our deadline's
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return db, nil
		}
		if permanentConnError(err) {
			db.Close()
			return nil, fmt.Errorf("mysql: %w", err)
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, fmt.Errorf("mysql not reachable: %w", errors.Join(last, ctx.Err()))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// permanentConnError: waiting will not fix bad credentials or a missing database.
func permanentConnError(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1044, 1045, 1049, 1193: // access denied, bad credentials, unknown database, unknown variable
		return true
	}
	return false
}

// Migrate applies the migrations in fsys (the *.sql files in its directory dir),
// tracking them in table, so lib components and the service can each keep
// their own migration history in one database. A MySQL named lock serialises
// instances that start together, so no migration is applied twice at once.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir, table string) error {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return fmt.Errorf("migrations %s: %w", table, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", table, err)
	}
	defer conn.Close()
	lock := "hospital-migrate-" + table
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 120)`, lock).Scan(&got); err != nil {
		return fmt.Errorf("migrate %s: take lock: %w", table, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("migrate %s: another instance held the migration lock for 2 minutes", table)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `DO RELEASE_LOCK(?)`, lock) }()

	p, err := goose.NewProvider(goose.DialectMySQL, db, sub, goose.WithTableName(table))
	if err != nil {
		return fmt.Errorf("migrations %s: %w", table, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", table, err)
	}
	return nil
}

// IsDuplicate reports whether err is a unique-key violation.
func IsDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// InTx runs fn in a transaction, committing on nil and rolling back
// otherwise. A deadlock or lock-wait timeout rolls the whole transaction back
// in MySQL, so fn is run again (see RetryOnConflict): fn must only touch the
// database through tx.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	return RetryOnConflict(ctx, func() error { return inTx(ctx, db, fn) })
}

// RetryOnConflict runs fn again (up to five times in all, with a short
// growing pause) while it fails with a deadlock (1213) or a lock-wait timeout
// (1205): MySQL's answer to two writers meeting, which a repeat resolves.
func RetryOnConflict(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range 5 {
		if err = fn(); err == nil || !retryableTx(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
	return err
}

// retryableTx: deadlock (1213) or lock wait timeout (1205).
func retryableTx(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping is a readiness check for db.
func Ping(db *sql.DB) func(ctx context.Context) error {
	return func(ctx context.Context) error { return db.PingContext(ctx) }
}
