package store

import (
	"context"

	"hospital/svc/appointment/booking"
)

// HasAppointment reports whether an appointment matching f exists in any
// status but cancelled (ix_appointments_patient_time serves it).
func (s *Store) HasAppointment(ctx context.Context, f booking.CareFilter) (bool, error) {
	q := `SELECT EXISTS (SELECT 1 FROM appointments WHERE patient_id = ? AND status NOT IN (?, ?)`
	args := []any{f.PatientID, booking.StatusCancelledPatient, booking.StatusCancelledDoctor}
	if f.DoctorID != 0 {
		q += ` AND doctor_id = ?`
		args = append(args, f.DoctorID)
	}
	if f.From != nil && f.To != nil {
		q += ` AND appointment_time >= ? AND appointment_time < ?`
		args = append(args, *f.From, *f.To)
	}
	var has bool
	err := s.db.QueryRowContext(ctx, q+`)`, args...).Scan(&has)
	return has, wrap(err, "look for an appointment of patient %d", f.PatientID)
}
