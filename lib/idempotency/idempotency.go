// Package idempotency lets a receiver answer a repeated request (same
// Idempotency-Key) with the first answer instead of acting twice. The key is
// claimed inside the same MySQL transaction as the work, so a crash between
// the two cannot leave one without the other, and concurrent duplicates wait
// on the key's row lock and then see the stored answer. MongoDB services use
// package idempotency/mongokeys, which gives the same guarantees without
// transactions.
package idempotency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/problem"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the key table (its own goose history table).
func Migrate(ctx context.Context, db *sql.DB) error {
	return mysqldb.Migrate(ctx, db, migrations, "migrations", "goose_idempotency_version")
}

// Header is the request header carrying the key.
const Header = "Idempotency-Key"

// MaxKeyLength is the longest key accepted (the stores' column width).
const MaxKeyLength = 200

// KeyFrom returns the request's key ("" when absent) or a 400 when malformed:
// a key is 1 to MaxKeyLength printable ASCII characters (a UUID fits), so
// every store can keep it and every log line can show it as it is.
func KeyFrom(r *http.Request) (string, error) {
	k := r.Header.Get(Header)
	if len(k) > MaxKeyLength {
		return "", problem.Field(Header, "Ensure this header has no more than 200 characters.")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", problem.Field(Header, "Use printable ASCII characters only (a UUID, for example).")
		}
	}
	return k, nil
}

// Fingerprint identifies a request's content, so a key reused for a
// different request is caught.
func Fingerprint(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Stored is the answer given the first time.
type Stored struct {
	Status int
	Body   []byte
}

// Begin claims key in tx. It returns nil when the caller should do the work
// (and then call Finish in the same tx), or the stored answer of an earlier
// request with this key. The same key with a different fingerprint is a 422.
func Begin(ctx context.Context, tx *sql.Tx, scope, key, fingerprint string) (*Stored, error) {
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, idem_key, request_hash, created_at)
		VALUES (?, ?, ?, ?)`, scope, key, fingerprint, time.Now().UTC())
	if err == nil {
		return nil, nil
	}
	if !mysqldb.IsDuplicate(err) {
		return nil, fmt.Errorf("idempotency: claim %s/%s: %w", scope, key, err)
	}
	var (
		hash   string
		status sql.NullInt64
		body   []byte
	)
	err = tx.QueryRowContext(ctx, `SELECT request_hash, status_code, response_body FROM idempotency_keys
		WHERE scope = ? AND idem_key = ?`, scope, key).Scan(&hash, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.Conflict("A request with this Idempotency-Key is being processed; retry shortly.")
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: read %s/%s: %w", scope, key, err)
	}
	if hash != fingerprint {
		return nil, problem.New(http.StatusUnprocessableEntity, "This Idempotency-Key was already used for a different request.")
	}
	if !status.Valid {
		return nil, problem.Conflict("A request with this Idempotency-Key is being processed; retry shortly.")
	}
	return &Stored{Status: int(status.Int64), Body: body}, nil
}

// Finish stores the answer for key, in the same tx as the work.
func Finish(ctx context.Context, tx *sql.Tx, scope, key string, status int, body []byte) error {
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status_code = ?, response_body = ?
		WHERE scope = ? AND idem_key = ?`, status, body, scope, key)
	if err != nil {
		return fmt.Errorf("idempotency: finish %s/%s: %w", scope, key, err)
	}
	return nil
}
