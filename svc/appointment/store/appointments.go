package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/svc/appointment/booking"
)

const appointmentCols = `id, patient_id, doctor_id, appointment_time, duration_minutes, status,
	reason_for_visit, notes_doctor, patient_name, doctor_name, reminder_sent_at, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanAppointment(s scanner) (booking.Appointment, error) {
	var (
		a  booking.Appointment
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

func scanAppointments(rows *sql.Rows) ([]booking.Appointment, error) {
	defer rows.Close()
	var out []booking.Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func getAppointment(ctx context.Context, q querier, id int64, forUpdate bool) (booking.Appointment, error) {
	stmt := `SELECT ` + appointmentCols + ` FROM appointments WHERE id = ?`
	if forUpdate {
		stmt += ` FOR UPDATE`
	}
	a, err := scanAppointment(q.QueryRowContext(ctx, stmt, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, booking.ErrNotFound
	}
	return a, wrap(err, "read appointment %d", id)
}

// Appointment returns one appointment.
func (s *Store) Appointment(ctx context.Context, id int64) (booking.Appointment, error) {
	return getAppointment(ctx, s.db, id, false)
}

// Appointments returns one page matching f, soonest first, and the total.
func (s *Store) Appointments(ctx context.Context, f booking.ListFilter, limit, offset int) ([]booking.Appointment, int, error) {
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
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM appointments`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count appointments: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+appointmentCols+` FROM appointments`+cond+
		` ORDER BY appointment_time, id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list appointments: %w", err)
	}
	out, err := scanAppointments(rows)
	return out, total, wrap(err, "list appointments")
}

// overlapRange is the condition "active, and overlapping [start, end)". An
// appointment lasts at most booking.MaxSlotDuration, so one that overlaps
// starts after start - MaxSlotDuration: the lower bound keeps the scan of
// the time index short however many appointments came before.
const overlapRange = `active_slot IS NOT NULL AND appointment_time < ? AND appointment_time > ? AND end_time > ?`

func overlapArgs(iv booking.Interval) []any {
	return []any{iv.End, iv.Start.Add(-booking.MaxSlotDuration), iv.Start}
}

// BookedIntervals returns the slots a doctor's active appointments hold in iv.
func (s *Store) BookedIntervals(ctx context.Context, doctorID int64, iv booking.Interval) ([]booking.Interval, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT appointment_time, end_time FROM appointments
		WHERE doctor_id = ? AND `+overlapRange, append([]any{doctorID}, overlapArgs(iv)...)...)
	if err != nil {
		return nil, fmt.Errorf("booked slots of doctor %d: %w", doctorID, err)
	}
	defer rows.Close()
	var out []booking.Interval
	for rows.Next() {
		var b booking.Interval
		if err := rows.Scan(&b.Start, &b.End); err != nil {
			return nil, err
		}
		out = append(out, booking.Interval{Start: b.Start.UTC(), End: b.End.UTC()})
	}
	return out, rows.Err()
}

// DueReminders lists CONFIRMED appointments starting in (now, now+before]
// that have had no reminder.
func (s *Store) DueReminders(ctx context.Context, now time.Time, before time.Duration, limit int) ([]booking.Appointment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+appointmentCols+` FROM appointments
		WHERE status = ? AND reminder_sent_at IS NULL AND appointment_time > ? AND appointment_time <= ?
		ORDER BY appointment_time LIMIT ?`, booking.StatusConfirmed, now, now.Add(before), limit)
	if err != nil {
		return nil, fmt.Errorf("due reminders: %w", err)
	}
	return scanAppointments(rows)
}

// txStore is the store inside one transaction (booking.Tx).
type txStore struct{ tx *sql.Tx }

// LockBooking takes the per-doctor and per-patient rows of booking_locks in
// one statement, in key order (so two bookings never wait on each other in
// a cycle).
func (t *txStore) LockBooking(ctx context.Context, doctorID, patientID int64) error {
	keys := []string{doctorLock(doctorID), fmt.Sprintf("patient:%d", patientID)}
	sort.Strings(keys)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO booking_locks (lock_key) VALUES (?), (?)
		ON DUPLICATE KEY UPDATE lock_key = lock_key`, keys[0], keys[1])
	return wrap(err, "booking locks %v", keys)
}

func doctorLock(doctorID int64) string { return fmt.Sprintf("doctor:%d", doctorID) }

// Clashes reads the doctor's and the patient's overlapping appointments and
// the patient's open ones in one round trip: it runs while the booking
// locks are held, so every round trip saved is time another booking of the
// same doctor does not wait.
func (t *txStore) Clashes(ctx context.Context, doctorID, patientID int64, iv booking.Interval, now time.Time, openLimit int) (booking.Clashes, error) {
	var (
		c          booking.Clashes
		doc, pat   sql.NullInt64
		overlapArg = overlapArgs(iv)
	)
	args := append(append(append([]any{doctorID}, overlapArg...), patientID), overlapArg...)
	args = append(args, patientID, now.Add(-booking.MaxSlotDuration), now, openLimit)
	err := t.tx.QueryRowContext(ctx, `SELECT
		(SELECT id FROM appointments WHERE doctor_id = ? AND `+overlapRange+` LIMIT 1),
		(SELECT id FROM appointments WHERE patient_id = ? AND `+overlapRange+` ORDER BY appointment_time LIMIT 1),
		(SELECT COUNT(*) FROM (SELECT 1 FROM appointments
			WHERE patient_id = ? AND active_slot > ? AND end_time > ? LIMIT ?) AS open_slots)`, args...).
		Scan(&doc, &pat, &c.Open)
	c.DoctorOverlap, c.PatientOverlap = doc.Int64, pat.Int64
	return c, wrap(err, "booking clashes of doctor %d and patient %d", doctorID, patientID)
}

// Insert stores a new appointment holding its slot.
func (t *txStore) Insert(ctx context.Context, a *booking.Appointment) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO appointments (patient_id, doctor_id, appointment_time,
		duration_minutes, end_time, status, reason_for_visit, notes_doctor, patient_name, doctor_name,
		active_slot, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.PatientID, a.DoctorID, a.AppointmentTime, a.DurationMinutes, a.EndTime(), a.Status, a.ReasonForVisit,
		a.NotesDoctor, a.PatientName, a.DoctorName, a.AppointmentTime, a.CreatedAt, a.UpdatedAt)
	if mysqldb.IsDuplicate(err) {
		return booking.ErrSlotTaken
	}
	if err != nil {
		return fmt.Errorf("insert appointment: %w", err)
	}
	a.ID, err = res.LastInsertId()
	return err
}

// AppointmentForUpdate reads and locks one appointment.
func (t *txStore) AppointmentForUpdate(ctx context.Context, id int64) (booking.Appointment, error) {
	return getAppointment(ctx, t.tx, id, true)
}

// SetStatus sets the status and, with it, whether the slot is held.
func (t *txStore) SetStatus(ctx context.Context, a *booking.Appointment, status string, now time.Time) error {
	var slot any
	if booking.HoldsSlot(status) {
		slot = a.AppointmentTime
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE appointments SET status = ?, active_slot = ?, updated_at = ? WHERE id = ?`,
		status, slot, now, a.ID)
	if mysqldb.IsDuplicate(err) {
		return booking.ErrSlotTaken
	}
	a.Status, a.UpdatedAt = status, now
	return wrap(err, "set status of appointment %d", a.ID)
}

// SetDetails saves notes_doctor, reason_for_visit and updated_at.
func (t *txStore) SetDetails(ctx context.Context, a booking.Appointment) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE appointments SET notes_doctor = ?, reason_for_visit = ?, updated_at = ? WHERE id = ?`,
		a.NotesDoctor, a.ReasonForVisit, a.UpdatedAt, a.ID)
	return wrap(err, "update appointment %d", a.ID)
}

// MarkReminded sets the sent marker unless another run already did.
func (t *txStore) MarkReminded(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE appointments SET reminder_sent_at = ?
		WHERE id = ? AND reminder_sent_at IS NULL AND status = ?`, now, id, booking.StatusConfirmed)
	if err != nil {
		return false, fmt.Errorf("mark appointment %d reminded: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Enqueue records messages in the transaction.
func (t *txStore) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	return enqueue(ctx, t.tx, msgs)
}
