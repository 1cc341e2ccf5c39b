package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hospital/svc/user/accounts"
)

// LockCounter implements accounts.LoginThrottle.
func (s *Store) LockCounter(ctx context.Context, k accounts.CounterKey) (accounts.Counter, error) {
	// ON DUPLICATE KEY UPDATE (not INSERT IGNORE) takes the row's exclusive
	// lock at once: with IGNORE, concurrent attempts each hold a shared lock
	// and deadlock upgrading it below.
	if err := exec(ctx, s.q(), "login throttle", `INSERT INTO login_throttle (scope, account, client) VALUES (?, ?, ?)
		ON DUPLICATE KEY UPDATE failures = failures`, k.Scope, k.Account, k.Client); err != nil {
		return accounts.Counter{}, err
	}
	c := accounts.Counter{Key: k}
	var last, blocked sql.NullTime
	err := s.q().QueryRowContext(ctx, `SELECT failures, last_failure, blocked_until FROM login_throttle
		WHERE scope = ? AND account = ? AND client = ? FOR UPDATE`, k.Scope, k.Account, k.Client).
		Scan(&c.Failures, &last, &blocked)
	if err != nil {
		return c, fmt.Errorf("login throttle: %w", err)
	}
	c.LastFailure, c.BlockedUntil = last.Time, blocked.Time
	return c, nil
}

// SaveCounter implements accounts.LoginThrottle.
func (s *Store) SaveCounter(ctx context.Context, c accounts.Counter) error {
	return exec(ctx, s.q(), "login throttle", `UPDATE login_throttle SET failures = ?, last_failure = ?, blocked_until = ?
		WHERE scope = ? AND account = ? AND client = ?`,
		c.Failures, nullTime(c.LastFailure), nullTime(c.BlockedUntil), c.Key.Scope, c.Key.Account, c.Key.Client)
}

// ClearAccount implements accounts.LoginThrottle: every counter about the
// account (its own and each client's on it).
func (s *Store) ClearAccount(ctx context.Context, account string) error {
	return exec(ctx, s.q(), "login throttle", `DELETE FROM login_throttle WHERE account = ?`, account)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// Cleanup implements accounts.LoginThrottle: expired tokens and counters
// quiet since staleBefore go, in batches so no statement holds locks long.
func (s *Store) Cleanup(ctx context.Context, cutoff, staleBefore, now time.Time) error {
	const batch = 5000
	stmts := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM refresh_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM password_reset_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM email_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM login_throttle WHERE (last_failure IS NULL OR last_failure < ?)
			AND (blocked_until IS NULL OR blocked_until < ?) LIMIT 5000`, []any{staleBefore, now}},
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
