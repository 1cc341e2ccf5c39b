package store

import (
	"context"
	"database/sql"
	"time"

	"hospital/lib/mysqldb"
	"hospital/svc/admin/oversight"
)

// ReplaceDay recomputes one day's report rows from the log in one
// transaction: a reader sees the old rows or the new ones, never none.
func (s *Store) ReplaceDay(ctx context.Context, day string, from, to, now time.Time) (rows, events int, err error) {
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM daily_activity WHERE day = ?`, day); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO daily_activity (day, service_name, events, patient_reads, denied, failed,
			break_glass, patients, users, computed_at)
			SELECT ?, service_name, `+countCols+`, ? FROM audit_log
			WHERE event_time >= ? AND event_time < ? GROUP BY service_name`, day, now, from.UTC(), to.UTC())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		rows = int(n)
		return tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0) FROM daily_activity WHERE day = ?`, day).Scan(&events)
	})
	return rows, events, wrap(err, "report of %s", day)
}

// Activity returns report rows, newest day first, then by service.
func (s *Store) Activity(ctx context.Context, f oversight.ActivityFilter) ([]oversight.DailyActivity, error) {
	q := `SELECT day, service_name, events, patient_reads, denied, failed, break_glass, patients, users, computed_at
		FROM daily_activity WHERE day >= ? AND day <= ?`
	args := []any{f.From.Format(time.DateOnly), f.To.Format(time.DateOnly)}
	if f.Service != "" {
		q += ` AND service_name = ?`
		args = append(args, f.Service)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY day DESC, service_name`, args...)
	if err != nil {
		return nil, wrap(err, "read reports")
	}
	defer rows.Close()
	out := []oversight.DailyActivity{}
	for rows.Next() {
		var a oversight.DailyActivity
		var day time.Time
		if err := rows.Scan(&day, &a.Service, &a.Events, &a.PatientReads, &a.Denied, &a.Failed, &a.BreakGlass,
			&a.Patients, &a.Users, &a.ComputedAt); err != nil {
			return nil, wrap(err, "read reports")
		}
		a.Day, a.ComputedAt = day.Format(time.DateOnly), a.ComputedAt.UTC()
		out = append(out, a)
	}
	return out, wrap(rows.Err(), "read reports")
}
