package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hospital/svc/user/accounts"
)

// LockFailures implements accounts.LoginFailures.
func (s *Store) LockFailures(ctx context.Context, key string, now time.Time) (accounts.Failures, error) {
	// ON DUPLICATE KEY UPDATE (not INSERT IGNORE) takes the row's exclusive
	// lock at once: with IGNORE, concurrent attempts each hold a shared lock
	// and deadlock upgrading it below.
	if err := exec(ctx, s.q(), "login failures", `INSERT INTO login_failures (username, failures, window_start)
		VALUES (?, 0, ?) ON DUPLICATE KEY UPDATE failures = failures`, key, now); err != nil {
		return accounts.Failures{}, err
	}
	var (
		f      accounts.Failures
		locked sql.NullTime
	)
	err := s.q().QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM login_failures
		WHERE username = ? FOR UPDATE`, key).Scan(&f.Failures, &f.WindowStart, &locked)
	if err != nil {
		return f, fmt.Errorf("login failures: %w", err)
	}
	if locked.Valid {
		t := locked.Time
		f.LockedUntil = &t
	}
	return f, nil
}

// SaveFailures implements accounts.LoginFailures.
func (s *Store) SaveFailures(ctx context.Context, key string, f accounts.Failures) error {
	return exec(ctx, s.q(), "login failures", `UPDATE login_failures SET failures = ?, window_start = ?, locked_until = ?
		WHERE username = ?`, f.Failures, f.WindowStart, f.LockedUntil, key)
}

// ClearFailures implements accounts.LoginFailures.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	return exec(ctx, s.q(), "login failures", `DELETE FROM login_failures WHERE username = ?`, key)
}

// LockIfOver implements accounts.LoginFailures.
func (s *Store) LockIfOver(ctx context.Context, key string, max int, until time.Time) (bool, error) {
	res, err := s.q().ExecContext(ctx, `UPDATE login_failures SET locked_until = ?
		WHERE username = ? AND failures >= ? AND locked_until IS NULL`, until, key, max)
	if err != nil {
		return false, fmt.Errorf("lock account: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Cleanup implements accounts.LoginFailures: expired tokens and stale
// counters go, in batches so no statement holds locks for long.
func (s *Store) Cleanup(ctx context.Context, cutoff, staleWindow, now time.Time) error {
	const batch = 5000
	stmts := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM refresh_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM password_reset_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM login_failures WHERE (locked_until IS NULL AND window_start < ?) OR locked_until < ? LIMIT 5000`,
			[]any{staleWindow, now}},
	}
	for _, st := range stmts {
		for {
			res, err := s.q().ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return fmt.Errorf("cleanup: %w", err)
			}
			if n, _ := res.RowsAffected(); n < batch {
				break
			}
		}
	}
	return nil
}
