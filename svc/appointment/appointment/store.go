package appointment

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable tracks the appointment schema's goose history.
const MigrationsTable = "goose_db_version"

// Migrate brings the database up to date: the appointment schema and lib's
// outbox table.
func Migrate(ctx context.Context, db *sql.DB) error {
	if err := mysqldb.Migrate(ctx, db, migrations, "migrations", MigrationsTable); err != nil {
		return err
	}
	return outbox.Migrate(ctx, db)
}

var errNotFound = errors.New("not found")

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

const appointmentCols = `id, patient_id, doctor_id, appointment_time, duration_minutes, status,
	reason_for_visit, notes_doctor, patient_name, doctor_name, reminder_sent_at, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanAppointment(s scanner) (Appointment, error) {
	var (
		a  Appointment
		rs sql.NullTime
	)
	err := s.Scan(&a.ID, &a.PatientID, &a.DoctorID, &a.AppointmentTime, &a.DurationMinutes, &a.Status,
		&a.ReasonForVisit, &a.NotesDoctor, &a.PatientName, &a.DoctorName, &rs, &a.CreatedAt, &a.UpdatedAt)
	if rs.Valid {
		t := rs.Time.UTC()
		a.ReminderSentAt = &t
	}
	a.AppointmentTime = a.AppointmentTime.UTC()
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

func getAppointment(ctx context.Context, q querier, id int64, forUpdate bool) (Appointment, error) {
	stmt := `SELECT ` + appointmentCols + ` FROM appointments WHERE id = ?`
	if forUpdate {
		stmt += ` FOR UPDATE`
	}
	a, err := scanAppointment(q.QueryRowContext(ctx, stmt, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNotFound
	}
	return a, err
}

// lockBooking takes the per-doctor and per-patient booking locks, in key
// order (so two bookings never wait on each other in a cycle).
func lockBooking(ctx context.Context, tx *sql.Tx, doctorID, patientID int64) error {
	keys := []string{fmt.Sprintf("doctor:%d", doctorID), fmt.Sprintf("patient:%d", patientID)}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO booking_locks (lock_key) VALUES (?)
			ON DUPLICATE KEY UPDATE lock_key = lock_key`, k); err != nil {
			return fmt.Errorf("booking lock %s: %w", k, err)
		}
	}
	return nil
}

// ensureLock creates a lock row ahead of time (a first insert of the same new
// key by many transactions at once can deadlock in InnoDB).
func ensureLock(ctx context.Context, db *sql.DB, key string) error {
	_, err := db.ExecContext(ctx, `INSERT IGNORE INTO booking_locks (lock_key) VALUES (?)`, key)
	return err
}

// overlapping returns an active appointment of column = id overlapping iv.
func overlapping(ctx context.Context, q querier, column string, id int64, iv Interval) (*Appointment, error) {
	a, err := scanAppointment(q.QueryRowContext(ctx, `SELECT `+appointmentCols+` FROM appointments
		WHERE `+column+` = ? AND active_slot IS NOT NULL AND appointment_time < ? AND end_time > ?
		ORDER BY appointment_time LIMIT 1`, id, iv.End, iv.Start))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func insertAppointment(ctx context.Context, tx *sql.Tx, a *Appointment) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO appointments (patient_id, doctor_id, appointment_time,
		duration_minutes, end_time, status, reason_for_visit, notes_doctor, patient_name, doctor_name,
		active_slot, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.PatientID, a.DoctorID, a.AppointmentTime, a.DurationMinutes, a.EndTime(), a.Status, a.ReasonForVisit,
		a.NotesDoctor, a.PatientName, a.DoctorName, a.AppointmentTime, a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return err
	}
	a.ID, err = res.LastInsertId()
	return err
}

// updateStatus sets the status and, with it, whether the slot is held.
func updateStatus(ctx context.Context, tx *sql.Tx, a *Appointment, status string, now time.Time) error {
	var slot any
	if holdsSlot(status) {
		slot = a.AppointmentTime
	}
	_, err := tx.ExecContext(ctx, `UPDATE appointments SET status = ?, active_slot = ?, updated_at = ? WHERE id = ?`,
		status, slot, now, a.ID)
	a.Status, a.UpdatedAt = status, now
	return err
}

func updateFields(ctx context.Context, tx *sql.Tx, a Appointment) error {
	_, err := tx.ExecContext(ctx, `UPDATE appointments SET notes_doctor = ?, reason_for_visit = ?, updated_at = ? WHERE id = ?`,
		a.NotesDoctor, a.ReasonForVisit, a.UpdatedAt, a.ID)
	return err
}

// listAppointments returns one page matching f, soonest first, and the total.
func listAppointments(ctx context.Context, db *sql.DB, f ListFilter, limit, offset int) ([]Appointment, int, error) {
	var (
		where []string
		args  []any
	)
	if f.PatientID != 0 {
		where, args = append(where, "patient_id = ?"), append(args, f.PatientID)
	}
	if f.DoctorID != 0 {
		where, args = append(where, "doctor_id = ?"), append(args, f.DoctorID)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(",?", len(f.Statuses)-1)+")")
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.From != nil {
		where, args = append(where, "appointment_time >= ?"), append(args, *f.From)
	}
	if f.To != nil {
		where, args = append(where, "appointment_time < ?"), append(args, *f.To)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM appointments`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+appointmentCols+` FROM appointments`+cond+
		` ORDER BY appointment_time, id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

// bookedIntervals returns the slots a doctor's active appointments hold in iv.
func bookedIntervals(ctx context.Context, db *sql.DB, doctorID int64, iv Interval) ([]Interval, error) {
	rows, err := db.QueryContext(ctx, `SELECT appointment_time, end_time FROM appointments
		WHERE doctor_id = ? AND active_slot IS NOT NULL AND appointment_time < ? AND end_time > ?`,
		doctorID, iv.End, iv.Start)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Interval
	for rows.Next() {
		var b Interval
		if err := rows.Scan(&b.Start, &b.End); err != nil {
			return nil, err
		}
		out = append(out, Interval{Start: b.Start.UTC(), End: b.End.UTC()})
	}
	return out, rows.Err()
}

const scheduleCols = `id, doctor_id, day_of_week, start_time, end_time, is_available, valid_from, valid_to, created_at, updated_at`

func listSchedules(ctx context.Context, q querier, doctorID int64) ([]DoctorSchedule, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+scheduleCols+` FROM doctor_schedules WHERE doctor_id = ?
		ORDER BY day_of_week, start_time, valid_from`, doctorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DoctorSchedule
	for rows.Next() {
		var (
			s          DoctorSchedule
			start, end string
			from       time.Time
			to         sql.NullTime
		)
		if err := rows.Scan(&s.ID, &s.DoctorID, &s.DayOfWeek, &start, &end, &s.IsAvailable, &from, &to, &s.CreatedAt, &s.UpdatedAt); err != nil {
			return nil, err
		}
		s.StartTime, s.EndTime = normClock(start), normClock(end)
		s.ValidFrom = from.Format(DateLayout)
		if to.Valid {
			v := to.Time.Format(DateLayout)
			s.ValidTo = &v
		}
		s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

func normClock(s string) string {
	if c, err := ParseClock(s); err == nil {
		return c.String()
	}
	return s
}

// upsertSchedule creates the entry or updates the one with the same key; it
// reports whether a row was created.
func upsertSchedule(ctx context.Context, db *sql.DB, s DoctorSchedule, now time.Time) (bool, error) {
	res, err := db.ExecContext(ctx, `INSERT INTO doctor_schedules (doctor_id, day_of_week, start_time, end_time,
		is_available, valid_from, valid_to, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE end_time = VALUES(end_time), is_available = VALUES(is_available),
		valid_to = VALUES(valid_to), updated_at = VALUES(updated_at)`,
		s.DoctorID, s.DayOfWeek, s.StartTime, s.EndTime, s.IsAvailable, s.ValidFrom, s.ValidTo, now, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// scheduleEntries converts stored entries for the slot computation.
func scheduleEntries(in []DoctorSchedule) []ScheduleEntry {
	out := make([]ScheduleEntry, 0, len(in))
	for _, s := range in {
		start, err1 := ParseClock(s.StartTime)
		end, err2 := ParseClock(s.EndTime)
		from, err3 := time.Parse(DateLayout, s.ValidFrom)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		e := ScheduleEntry{DayOfWeek: s.DayOfWeek, Start: start, End: end, IsAvailable: s.IsAvailable, ValidFrom: from}
		if s.ValidTo != nil {
			if to, err := time.Parse(DateLayout, *s.ValidTo); err == nil {
				e.ValidTo = &to
			}
		}
		out = append(out, e)
	}
	return out
}

// dueReminders lists CONFIRMED appointments starting in (now, now+before]
// that have had no reminder.
func dueReminders(ctx context.Context, db *sql.DB, now time.Time, before time.Duration, limit int) ([]Appointment, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+appointmentCols+` FROM appointments
		WHERE status = ? AND reminder_sent_at IS NULL AND appointment_time > ? AND appointment_time <= ?
		ORDER BY appointment_time LIMIT ?`, StatusConfirmed, now, now.Add(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// markReminded sets the sent marker unless another run already did.
func markReminded(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE appointments SET reminder_sent_at = ? WHERE id = ? AND reminder_sent_at IS NULL AND status = ?`,
		now, id, StatusConfirmed)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
