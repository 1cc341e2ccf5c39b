package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hospital/svc/user/accounts"
)

// InsertRefresh implements accounts.Sessions.
func (s *Store) InsertRefresh(ctx context.Context, t accounts.RefreshToken) error {
	return exec(ctx, s.q(), "store refresh token", `INSERT INTO refresh_tokens
		(token_hash, family_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, t.UserID, t.CreatedAt, t.ExpiresAt)
}

// RefreshByHashForUpdate implements accounts.Sessions.
func (s *Store) RefreshByHashForUpdate(ctx context.Context, hash string) (accounts.RefreshToken, error) {
	var (
		r             accounts.RefreshToken
		used, revoked sql.NullTime
	)
	err := s.q().QueryRowContext(ctx, `SELECT id, token_hash, user_id, family_id, created_at, expires_at, used_at, revoked_at
		FROM refresh_tokens WHERE token_hash = ? FOR UPDATE`, hash).
		Scan(&r.ID, &r.Hash, &r.UserID, &r.FamilyID, &r.CreatedAt, &r.ExpiresAt, &used, &revoked)
	if err != nil {
		if err = notFound(err); err != accounts.ErrNotFound {
			err = fmt.Errorf("read refresh token: %w", err)
		}
		return r, err
	}
	r.Used, r.Revoked = used.Valid, revoked.Valid
	return r, nil
}

// MarkRefreshUsed implements accounts.Sessions.
func (s *Store) MarkRefreshUsed(ctx context.Context, id int64, at time.Time) error {
	return exec(ctx, s.q(), "rotate refresh token", `UPDATE refresh_tokens SET used_at = ? WHERE id = ?`, at, id)
}

// RevokeFamily implements accounts.Sessions.
func (s *Store) RevokeFamily(ctx context.Context, family string, at time.Time) error {
	return exec(ctx, s.q(), "revoke session", `UPDATE refresh_tokens SET revoked_at = ?
		WHERE family_id = ? AND revoked_at IS NULL`, at, family)
}

// RevokeUserSessions implements accounts.Sessions.
func (s *Store) RevokeUserSessions(ctx context.Context, userID int64, at time.Time) error {
	return exec(ctx, s.q(), "revoke user's sessions", `UPDATE refresh_tokens SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL`, at, userID)
}

// InsertReset implements accounts.Resets.
func (s *Store) InsertReset(ctx context.Context, hash string, userID int64, created, expires time.Time) (int64, error) {
	res, err := s.q().ExecContext(ctx, `INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?)`, hash, userID, created, expires)
	if err != nil {
		return 0, fmt.Errorf("store reset token: %w", err)
	}
	return res.LastInsertId()
}

// ResetByHash implements accounts.Resets.
func (s *Store) ResetByHash(ctx context.Context, hash string, forUpdate bool) (accounts.ResetToken, error) {
	var (
		r    accounts.ResetToken
		used sql.NullTime
	)
	query := `SELECT id, user_id, created_at, expires_at, used_at FROM password_reset_tokens WHERE token_hash = ?`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	err := s.q().QueryRowContext(ctx, query, hash).Scan(&r.ID, &r.UserID, &r.CreatedAt, &r.ExpiresAt, &used)
	if err != nil {
		if err = notFound(err); err != accounts.ErrNotFound {
			err = fmt.Errorf("read reset token: %w", err)
		}
		return r, err
	}
	r.Used = used.Valid
	return r, nil
}

// ConsumeResets implements accounts.Resets.
func (s *Store) ConsumeResets(ctx context.Context, userID int64, at time.Time) error {
	return exec(ctx, s.q(), "consume reset tokens", `UPDATE password_reset_tokens SET used_at = ?
		WHERE user_id = ? AND used_at IS NULL`, at, userID)
}

// ResetStats implements accounts.Resets.
func (s *Store) ResetStats(ctx context.Context, userID int64, since time.Time) (int, time.Time, error) {
	var (
		n    int
		last sql.NullTime
	)
	err := s.q().QueryRowContext(ctx, `SELECT COUNT(*), MAX(created_at) FROM password_reset_tokens
		WHERE user_id = ? AND created_at >= ?`, userID, since).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reset stats: %w", err)
	}
	return n, last.Time, nil
}
