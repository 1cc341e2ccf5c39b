package booking

import (
	"context"
	"errors"
	"time"

	"hospital/lib/auth"
	"hospital/lib/userapi"
)

// Book books a slot. A patient books for themself (the token says who they
// are); NURSE and ADMIN book for the patient_id they name. The time must be
// the start of a free slot of the doctor's schedule, in the future and
// within the booking horizon; the patient may hold only so many upcoming
// appointments, none overlapping. The unique key on (doctor_id, active_slot)
// refuses a second booking of a slot whatever the concurrency.
func (s *Service) Book(ctx context.Context, in BookRequest) (Appointment, error) {
	c, err := caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	patientID := c.UserID
	switch c.Role {
	case auth.RolePatient:
		if in.PatientID != nil && *in.PatientID != c.UserID {
			return Appointment{}, errBookOthers
		}
	case auth.RoleNurse, auth.RoleAdmin:
		if in.PatientID == nil {
			return Appointment{}, errPatientMissing
		}
		patientID = *in.PatientID
	default:
		return Appointment{}, errForbidden
	}

	now := s.clock()
	start, err := s.parseAppointmentTime(in.AppointmentTime)
	if err != nil {
		return Appointment{}, err
	}
	switch {
	case !start.After(now):
		return Appointment{}, errTimePast
	case start.Second() != 0 || start.Nanosecond() != 0:
		return Appointment{}, errNotSlotStart
	case start.After(now.AddDate(0, 0, s.cfg.BookingHorizonDays)):
		return Appointment{}, errBeyondHorizon(s.cfg.BookingHorizonDays)
	}

	doctor, err := s.activeUser(ctx, in.DoctorID, auth.RoleDoctor, errNoDoctor)
	if err != nil {
		return Appointment{}, err
	}
	// A patient booking for themself is known from the token; the lookup
	// (cached) is for the name the notifications carry.
	patient, err := s.activeUser(ctx, patientID, auth.RolePatient, errNoPatient)
	if err != nil {
		return Appointment{}, err
	}
	schedules, err := s.store.Schedules(ctx, in.DoctorID)
	if err != nil {
		return Appointment{}, err
	}
	if !IsFreeSlot(scheduleEntries(schedules), start, s.loc, s.cfg.SlotDuration, now) {
		return Appointment{}, errNotInSchedule
	}

	a := Appointment{
		PatientID: patientID, DoctorID: in.DoctorID, AppointmentTime: start,
		DurationMinutes: int(s.cfg.SlotDuration / time.Minute), Status: StatusPending,
		ReasonForVisit: in.ReasonForVisit, PatientName: clipName(patient.DisplayName()),
		DoctorName: clipName(doctor.DisplayName()), CreatedAt: now, UpdatedAt: now,
	}
	iv := Interval{Start: start, End: a.EndTime()}
	err = s.commitAndKick(ctx, func(tx Tx) error {
		if err := tx.LockBooking(ctx, a.DoctorID, a.PatientID); err != nil {
			return err
		}
		max := s.cfg.MaxOpenPerPatient
		c, err := tx.Clashes(ctx, a.DoctorID, a.PatientID, iv, now, max)
		switch {
		case err != nil:
			return err
		case c.DoctorOverlap != 0:
			return errSlotTaken
		case c.PatientOverlap != 0:
			o, err := tx.AppointmentForUpdate(ctx, c.PatientOverlap)
			if err != nil {
				return err
			}
			return errPatientOverlap(o, s.clinicTime(o.AppointmentTime))
		case c.Open >= max:
			return errTooManyOpen(max)
		}
		if err := tx.Insert(ctx, &a); err != nil {
			if errors.Is(err, ErrSlotTaken) {
				return errSlotTaken
			}
			return err
		}
		return tx.Enqueue(ctx, append(s.requestedMessages(a), audited(ctx, actionBook, a))...)
	})
	if err != nil {
		return Appointment{}, err
	}
	return a, nil
}

// parseAppointmentTime reads RFC 3339, or a wall-clock time without an
// offset, which is the clinic's (the spec's example "2023-12-25T10:00:00").
func (s *Service) parseAppointmentTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errTimeFormat
}

// activeUser looks id up and requires an active user with role; notFound is
// the answer otherwise.
func (s *Service) activeUser(ctx context.Context, id int64, role string, notFound error) (userapi.User, error) {
	u, err := s.users.User(ctx, id)
	if errors.Is(err, userapi.ErrNotFound) || (err == nil && (u.Role != role || !u.IsActive)) {
		return userapi.User{}, notFound
	}
	return u, err
}

// clipName keeps what an appointment row holds of a name.
func clipName(name string) string {
	if r := []rune(name); len(r) > MaxNameLength {
		return string(r[:MaxNameLength])
	}
	return name
}
