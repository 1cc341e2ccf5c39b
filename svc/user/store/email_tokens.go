package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hospital/svc/user/accounts"
)

// InsertEmailToken implements accounts.EmailTokens.
func (s *Store) InsertEmailToken(ctx context.Context, t accounts.EmailToken) (int64, error) {
	res, err := s.q().ExecContext(ctx, `INSERT INTO email_tokens (token_hash, user_id, email, purpose, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.UserID, t.Email, t.Purpose, t.CreatedAt, t.ExpiresAt)
	if err != nil {
		return 0, fmt.Errorf("store email token: %w", err)
	}
	return res.LastInsertId()
}

// EmailTokenByHashForUpdate implements accounts.EmailTokens.
func (s *Store) EmailTokenByHashForUpdate(ctx context.Context, hash string) (accounts.EmailToken, error) {
	var (
		t    accounts.EmailToken
		used sql.NullTime
	)
	err := s.q().QueryRowContext(ctx, `SELECT id, token_hash, user_id, email, purpose, created_at, expires_at, used_at
		FROM email_tokens WHERE token_hash = ? FOR UPDATE`, hash).
		Scan(&t.ID, &t.Hash, &t.UserID, &t.Email, &t.Purpose, &t.CreatedAt, &t.ExpiresAt, &used)
	if err != nil {
		if err = notFound(err); err != accounts.ErrNotFound {
			err = fmt.Errorf("read email token: %w", err)
		}
		return t, err
	}
	t.Used = used.Valid
	return t, nil
}

// UseEmailToken implements accounts.EmailTokens.
func (s *Store) UseEmailToken(ctx context.Context, id int64, at time.Time) error {
	return exec(ctx, s.q(), "use email token", `UPDATE email_tokens SET used_at = ? WHERE id = ?`, at, id)
}
