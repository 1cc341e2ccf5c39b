package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"hospital/svc/admin/oversight"
)

const entryCols = `position, event_id, event_time, service_name, action_performed, user_id, role, actor_service,
	patient_id, object_type, object_id, outcome, request_id, client_ip, break_glass, details, received_at, prev_hash, hash`

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (oversight.Entry, error) {
	var (
		e             oversight.Entry
		user, patient sql.NullInt64
		details       []byte
	)
	err := s.Scan(&e.Position, &e.EventID, &e.Timestamp, &e.Service, &e.Action, &user, &e.Role, &e.ActorService,
		&patient, &e.ObjectType, &e.ObjectID, &e.Outcome, &e.RequestID, &e.ClientIP, &e.BreakGlass, &details,
		&e.ReceivedAt, &e.PrevHash, &e.Hash)
	if user.Valid {
		e.UserID = &user.Int64
	}
	if patient.Valid {
		e.PatientID = &patient.Int64
	}
	e.Details = details
	e.Timestamp, e.ReceivedAt = e.Timestamp.UTC(), e.ReceivedAt.UTC()
	return e, err
}

func scanEntries(rows *sql.Rows) ([]oversight.Entry, error) {
	defer rows.Close()
	var out []oversight.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LockHead reads the chain head FOR UPDATE: every append queues here.
func (t *txStore) LockHead(ctx context.Context) (oversight.ChainHead, error) {
	var h oversight.ChainHead
	err := t.tx.QueryRowContext(ctx, `SELECT last_position, last_hash FROM audit_chain WHERE id = 1 FOR UPDATE`).
		Scan(&h.Position, &h.Hash)
	return h, wrap(err, "lock audit chain head")
}

func (t *txStore) Positions(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT event_id, position FROM audit_log WHERE event_id IN (`+
		placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, wrap(err, "find audit events")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var pos int64
		if err := rows.Scan(&id, &pos); err != nil {
			return nil, wrap(err, "find audit events")
		}
		out[id] = pos
	}
	return out, wrap(rows.Err(), "find audit events")
}

func (t *txStore) Insert(ctx context.Context, entries []oversight.Entry) error {
	const cols = 19
	args := make([]any, 0, len(entries)*cols)
	rows := make([]string, len(entries))
	row := "(" + placeholders(cols) + ")"
	for i, e := range entries {
		rows[i] = row
		args = append(args, e.Position, e.EventID, e.Timestamp, e.Service, e.Action, nullable(e.UserID), e.Role,
			e.ActorService, nullable(e.PatientID), e.ObjectType, e.ObjectID, e.Outcome, e.RequestID, e.ClientIP,
			e.BreakGlass, string(e.Details), e.ReceivedAt, e.PrevHash, e.Hash)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO audit_log (`+entryCols+`) VALUES `+strings.Join(rows, ","), args...)
	return wrap(err, "insert %d audit entries", len(entries))
}

func (t *txStore) SetHead(ctx context.Context, h oversight.ChainHead, now time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE audit_chain SET last_position = ?, last_hash = ?, updated_at = ? WHERE id = 1`,
		h.Position, h.Hash, now)
	return wrap(err, "move audit chain head to %d", h.Position)
}

// Head is the chain head now.
func (s *Store) Head(ctx context.Context) (oversight.ChainHead, error) {
	var h oversight.ChainHead
	err := s.db.QueryRowContext(ctx, `SELECT last_position, last_hash FROM audit_chain WHERE id = 1`).Scan(&h.Position, &h.Hash)
	return h, wrap(err, "read audit chain head")
}

// EntriesFrom reads the chain in order from position on.
func (s *Store) EntriesFrom(ctx context.Context, position int64, limit int) ([]oversight.Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+entryCols+` FROM audit_log WHERE position >= ? ORDER BY position LIMIT ?`,
		position, limit)
	if err != nil {
		return nil, wrap(err, "read audit log from %d", position)
	}
	out, err := scanEntries(rows)
	return out, wrap(err, "read audit log from %d", position)
}

// Entries is one page of the log matching f, newest event first.
func (s *Store) Entries(ctx context.Context, f oversight.AuditFilter, limit, offset int) ([]oversight.Entry, int, error) {
	where, args := auditWhere(f)
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`+where, args...).Scan(&n); err != nil {
		return nil, 0, wrap(err, "count audit entries")
	}
	if n == 0 || offset >= n {
		return nil, n, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+entryCols+` FROM audit_log`+where+
		` ORDER BY event_time DESC, position DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, wrap(err, "search audit log")
	}
	out, err := scanEntries(rows)
	return out, n, wrap(err, "search audit log")
}

func auditWhere(f oversight.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	eq := func(col string, v any) {
		conds = append(conds, col+" = ?")
		args = append(args, v)
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		conds = append(conds, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if f.UserID != nil {
		eq("user_id", *f.UserID)
	}
	if f.PatientID != nil {
		eq("patient_id", *f.PatientID)
	}
	in("service_name", f.Services)
	in("outcome", f.Outcomes)
	if len(f.Actions) > 0 {
		var or []string
		for _, a := range f.Actions {
			if strings.Contains(a, "*") {
				or = append(or, "action_performed LIKE ?")
				args = append(args, likePattern(a))
			} else {
				or = append(or, "action_performed = ?")
				args = append(args, a)
			}
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if f.ObjectType != "" {
		eq("object_type", f.ObjectType)
	}
	if f.ObjectID != "" {
		eq("object_id", f.ObjectID)
	}
	if f.RequestID != "" {
		eq("request_id", f.RequestID)
	}
	if f.BreakGlass != nil {
		eq("break_glass", *f.BreakGlass)
	}
	if f.Since != nil {
		conds = append(conds, "event_time >= ?")
		args = append(args, f.Since.UTC())
	}
	if f.Until != nil {
		conds = append(conds, "event_time < ?")
		args = append(args, f.Until.UTC())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likePattern turns a glob ("*.read") into a LIKE pattern, every other
// character literal.
func likePattern(glob string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `*`, `%`)
	return r.Replace(glob)
}

// readActions is the SQL test for a read of patient data: an entry with a
// patient whose action ends in .read, .list or .search.
const readActions = `(patient_id IS NOT NULL AND (action_performed LIKE '%.read' OR action_performed LIKE '%.list'
	OR action_performed LIKE '%.search'))`

// countCols are a report's figures over a set of entries.
const countCols = `COUNT(*), COALESCE(SUM(` + readActions + `), 0), COALESCE(SUM(outcome = 'DENIED'), 0),
	COALESCE(SUM(outcome = 'FAILED'), 0), COALESCE(SUM(break_glass), 0), COUNT(DISTINCT patient_id), COUNT(DISTINCT user_id)`

// CountsBetween is what the log recorded in [from, to).
func (s *Store) CountsBetween(ctx context.Context, from, to time.Time) (oversight.Counts, error) {
	var c oversight.Counts
	err := s.db.QueryRowContext(ctx, `SELECT `+countCols+` FROM audit_log WHERE event_time >= ? AND event_time < ?`,
		from.UTC(), to.UTC()).Scan(&c.Events, &c.PatientReads, &c.Denied, &c.Failed, &c.BreakGlass, &c.Patients, &c.Users)
	return c, wrap(err, "count audit entries")
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func nullable(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}
