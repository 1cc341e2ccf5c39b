package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"hospital/svc/user/accounts"
)

// RecordRevocation implements accounts.RevocationLog: the later time wins
// and the row is published again.
func (s *Store) RecordRevocation(ctx context.Context, r accounts.Revocation) error {
	return exec(ctx, s.q(), "record revocation", `INSERT INTO token_revocations (kind, subject, revoked_at)
		VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE
		published_at = IF(VALUES(revoked_at) > revoked_at, NULL, published_at),
		revoked_at = GREATEST(revoked_at, VALUES(revoked_at))`, r.Kind, r.Subject, r.At)
}

// UnpublishedRevocations implements accounts.RevocationLog, oldest first.
func (s *Store) UnpublishedRevocations(ctx context.Context, limit int) ([]accounts.Revocation, error) {
	return s.revocations(ctx, "unpublished revocations", `SELECT kind, subject, revoked_at FROM token_revocations
		WHERE published_at IS NULL ORDER BY revoked_at LIMIT ?`, limit)
}

// PublishedRevocationsSince implements accounts.RevocationLog. They are
// the revocations of one token lifetime (a few thousand rows at most, on
// the revoked_at index), so they are read at once.
func (s *Store) PublishedRevocationsSince(ctx context.Context, since time.Time) ([]accounts.Revocation, error) {
	return s.revocations(ctx, "published revocations", `SELECT kind, subject, revoked_at FROM token_revocations
		WHERE revoked_at >= ? AND published_at IS NOT NULL ORDER BY revoked_at`, since)
}

func (s *Store) revocations(ctx context.Context, what, query string, args ...any) ([]accounts.Revocation, error) {
	rows, err := s.q().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []accounts.Revocation
	for rows.Next() {
		var r accounts.Revocation
		if err := rows.Scan(&r.Kind, &r.Subject, &r.At); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// MarkPublished implements accounts.RevocationLog; a row raised since it
// was read stays unpublished.
func (s *Store) MarkPublished(ctx context.Context, r accounts.Revocation, at time.Time) error {
	return exec(ctx, s.q(), "mark revocation published", `UPDATE token_revocations SET published_at = ?
		WHERE kind = ? AND subject = ? AND revoked_at = ?`, at, r.Kind, r.Subject, r.At)
}

// DeleteRevocationsBefore implements accounts.RevocationLog.
func (s *Store) DeleteRevocationsBefore(ctx context.Context, cutoff time.Time) error {
	return exec(ctx, s.q(), "delete old revocations", `DELETE FROM token_revocations
		WHERE revoked_at < ? AND published_at IS NOT NULL`, cutoff)
}

// WithLock runs fn only if this instance gets the named lock, which lasts
// while fn runs: a job that one instance at a time should do. ran is false
// when another instance holds it.
func (s *Store) WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return false, nil
	}
	defer func() {
		_, rerr := conn.ExecContext(context.WithoutCancel(ctx), `DO RELEASE_LOCK(?)`, name)
		err = errors.Join(err, rerr)
	}()
	return true, fn(ctx)
}
