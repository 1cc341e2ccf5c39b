package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hospital/lib/mysqldb"
)

// MySQLQueue is the outbox table of a MySQL service (see Migrate, Enqueue).
type MySQLQueue struct{ db *sql.DB }

// NewMySQLQueue returns the queue kept in db's outbox_messages table.
func NewMySQLQueue(db *sql.DB) *MySQLQueue { return &MySQLQueue{db: db} }

// DueTargets reads one row per target from the (status, target_service,
// next_attempt_at) index, however long the backlog.
func (q *MySQLQueue) DueTargets(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT target_service, MIN(next_attempt_at) FROM outbox_messages
		WHERE status = 'PENDING' GROUP BY target_service`)
	if err != nil {
		return nil, fmt.Errorf("outbox: due targets: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			target string
			next   time.Time
		)
		if err := rows.Scan(&target, &next); err != nil {
			return nil, fmt.Errorf("outbox: due targets: %w", err)
		}
		if !next.After(now) {
			out = append(out, target)
		}
	}
	return out, rows.Err()
}

// Claim marks up to req.Limit rows with a lease of its own, then reads them.
func (q *MySQLQueue) Claim(ctx context.Context, req ClaimRequest) ([]Claimed, error) {
	lease := req.Owner + "-" + randHex(4)
	due, args := `next_attempt_at <= ?`, []any{req.Now}
	if !req.AttemptedBefore.IsZero() {
		due, args = `(next_attempt_at <= ? OR last_attempt_at < ?)`, []any{req.Now, req.AttemptedBefore}
	}
	args = append([]any{lease, req.Until, req.Target}, args...)
	args = append(args, req.Now, req.Limit)
	var res sql.Result
	err := mysqldb.RetryOnConflict(ctx, func() error {
		var err error
		res, err = q.db.ExecContext(ctx, `UPDATE outbox_messages SET lease_owner = ?, lease_until = ?
			WHERE status = 'PENDING' AND target_service = ? AND `+due+`
			AND (lease_until IS NULL OR lease_until < ?)
			ORDER BY next_attempt_at, id LIMIT ?`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: claim for %s: %w", req.Target, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil
	}
	rows, err := q.db.QueryContext(ctx, `SELECT id, idempotency_key, target_service, method, path, body, attempts, request_id
		FROM outbox_messages WHERE lease_owner = ? AND status = 'PENDING' ORDER BY next_attempt_at, id`, lease)
	if err != nil {
		return nil, fmt.Errorf("outbox: read claimed: %w", err)
	}
	defer rows.Close()
	var batch []Claimed
	for rows.Next() {
		var (
			c     Claimed
			id    int64
			reqID sql.NullString
		)
		if err := rows.Scan(&id, &c.Key, &c.Service, &c.Method, &c.Path, &c.Body, &c.Attempts, &reqID); err != nil {
			return nil, fmt.Errorf("outbox: read claimed: %w", err)
		}
		c.RequestID = reqID.String
		c.Lease = mysqlLease{id: id, owner: lease}
		batch = append(batch, c)
	}
	return batch, rows.Err()
}

type mysqlLease struct {
	id    int64
	owner string
}

// Record applies o to the row if the lease is still ours.
func (q *MySQLQueue) Record(ctx context.Context, m Claimed, o Outcome) error {
	l, ok := m.Lease.(mysqlLease)
	if !ok {
		return fmt.Errorf("outbox: %s was not claimed from MySQL", m.Key)
	}
	var (
		set  string
		args []any
	)
	switch o.Result {
	case Delivered:
		set, args = `status = 'DELIVERED', delivered_at = ?, last_status = ?, last_error = NULL, attempts = attempts + 1`,
			[]any{o.At, nullInt(o.Status)}
	case Refused:
		set, args = `status = 'FAILED', last_status = ?, last_error = ?, attempts = attempts + 1`,
			[]any{nullInt(o.Status), clipStr(o.Error)}
	case Retry:
		set, args = `next_attempt_at = ?, last_status = ?, last_error = ?, attempts = attempts + 1`,
			[]any{o.Next, nullInt(o.Status), clipStr(o.Error)}
	case Deferred:
		set, args = `next_attempt_at = ?, last_error = ?`, []any{o.Next, clipStr(o.Error)}
	default:
		return fmt.Errorf("outbox: unknown result %d", o.Result)
	}
	args = append(args, o.At, l.id, l.owner)
	// A result that is not recorded means a redelivery when the lease runs
	// out, so a conflict with another instance's claim is retried.
	err := mysqldb.RetryOnConflict(ctx, func() error {
		_, err := q.db.ExecContext(ctx, `UPDATE outbox_messages SET `+set+`,
			last_attempt_at = ?, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ?`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("outbox: record the outcome for %s: %w", m.Key, err)
	}
	return nil
}

// Backlog counts PENDING and FAILED rows per target.
func (q *MySQLQueue) Backlog(ctx context.Context) ([]Backlog, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT target_service, status, COUNT(*), MIN(created_at)
		FROM outbox_messages WHERE status IN ('PENDING', 'FAILED') GROUP BY target_service, status`)
	if err != nil {
		return nil, fmt.Errorf("outbox: backlog: %w", err)
	}
	defer rows.Close()
	var out []Backlog
	for rows.Next() {
		var b Backlog
		if err := rows.Scan(&b.Target, &b.Status, &b.Count, &b.Oldest); err != nil {
			return nil, fmt.Errorf("outbox: backlog: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Housekeep purges delivered messages older than DeliveredRetention, a
// batch a round: the table would otherwise keep every message ever sent.
// FAILED ones stay until an operator has seen to them.
func (q *MySQLQueue) Housekeep(ctx context.Context, now time.Time) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM outbox_messages WHERE status = 'DELIVERED' AND delivered_at < ? LIMIT 5000`,
		now.Add(-DeliveredRetention))
	if err != nil {
		return fmt.Errorf("outbox: purge delivered messages: %w", err)
	}
	return nil
}
