package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/svc/appointment/booking"
)

const scheduleCols = `id, doctor_id, day_of_week, start_time, end_time, is_available, valid_from, valid_to, created_at, updated_at`

// Schedules returns a doctor's schedule entries.
func (s *Store) Schedules(ctx context.Context, doctorID int64) ([]booking.DoctorSchedule, error) {
	return listSchedules(ctx, s.db, doctorID)
}

func listSchedules(ctx context.Context, q querier, doctorID int64) ([]booking.DoctorSchedule, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+scheduleCols+` FROM doctor_schedules WHERE doctor_id = ?
		ORDER BY day_of_week, start_time, valid_from`, doctorID)
	if err != nil {
		return nil, fmt.Errorf("schedule of doctor %d: %w", doctorID, err)
	}
	defer rows.Close()
	var out []booking.DoctorSchedule
	for rows.Next() {
		var (
			e          booking.DoctorSchedule
			start, end string
			from       time.Time
			to         sql.NullTime
		)
		if err := rows.Scan(&e.ID, &e.DoctorID, &e.DayOfWeek, &start, &end, &e.IsAvailable, &from, &to, &e.CreatedAt, &e.UpdatedAt); err != nil {
			return nil, err
		}
		e.StartTime, e.EndTime = normClock(start), normClock(end)
		e.ValidFrom = from.Format(booking.DateLayout)
		if to.Valid {
			v := to.Time.Format(booking.DateLayout)
			e.ValidTo = &v
		}
		e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// normClock writes a TIME column as the API does ("08:00:00").
func normClock(s string) string {
	if c, err := booking.ParseClock(s); err == nil {
		return c.String()
	}
	return s
}

// SaveSchedule creates the entry or updates the one with the same key, and
// records msgs, in one transaction.
func (s *Store) SaveSchedule(ctx context.Context, e booking.DoctorSchedule, now time.Time, msgs ...outbox.Message) (booking.DoctorSchedule, bool, error) {
	// The doctor's booking lock row exists before their first booking: many
	// first inserts of one new key at once can deadlock in InnoDB.
	if _, err := s.db.ExecContext(ctx, `INSERT IGNORE INTO booking_locks (lock_key) VALUES (?)`, doctorLock(e.DoctorID)); err != nil {
		return e, false, fmt.Errorf("booking lock of doctor %d: %w", e.DoctorID, err)
	}
	var (
		out     booking.DoctorSchedule
		created bool
	)
	err := mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO doctor_schedules (doctor_id, day_of_week, start_time, end_time,
			is_available, valid_from, valid_to, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON DUPLICATE KEY UPDATE end_time = VALUES(end_time), is_available = VALUES(is_available),
			valid_to = VALUES(valid_to), updated_at = VALUES(updated_at)`,
			e.DoctorID, e.DayOfWeek, e.StartTime, e.EndTime, e.IsAvailable, e.ValidFrom, e.ValidTo, now, now)
		if err != nil {
			return fmt.Errorf("save schedule of doctor %d: %w", e.DoctorID, err)
		}
		n, _ := res.RowsAffected()
		created = n == 1
		all, err := listSchedules(ctx, tx, e.DoctorID)
		if err != nil {
			return err
		}
		found := false
		for _, x := range all {
			if x.DayOfWeek == e.DayOfWeek && x.StartTime == e.StartTime && x.ValidFrom == e.ValidFrom {
				out, found = x, true
			}
		}
		if !found {
			return fmt.Errorf("schedule entry of doctor %d vanished after save", e.DoctorID)
		}
		return enqueue(ctx, tx, msgs)
	})
	return out, created, err
}
