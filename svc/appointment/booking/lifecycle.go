package booking

import (
	"context"
	"errors"
	"slices"
	"time"

	"hospital/lib/auth"
	"hospital/lib/outbox"
)

// The lifecycle (README.md, "status machine"):
//
//	PENDING ──confirm──▶ CONFIRMED ──complete (once started)──▶ COMPLETED
//	PENDING/CONFIRMED ──cancel (before the start)──▶ CANCELLED_PATIENT / CANCELLED_DOCTOR
//	PENDING/CONFIRMED ──update status (once ended)──▶ NO_SHOW

// change is one status change: who may make it, from which statuses, to
// which, what must hold at that moment and what it tells other services.
type change struct {
	action  string
	allowed func(auth.Identity, Appointment) bool
	to      func(auth.Identity) string
	from    []string
	check   func(a Appointment, now time.Time) error
	after   func(Appointment) []outbox.Message
}

// apply runs ch on appointment id under its row lock, with its messages and
// audit event in the same transaction.
func (s *Service) apply(ctx context.Context, id int64, ch change) (Appointment, error) {
	c, err := caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	var out Appointment
	err = s.commitAndKick(ctx, func(tx Tx) error {
		a, err := tx.AppointmentForUpdate(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		if !ch.allowed(c, a) {
			return errForbidden
		}
		to := ch.to(c)
		if !slices.Contains(ch.from, a.Status) {
			return errTransition(a.Status, to)
		}
		now := s.clock()
		if ch.check != nil {
			if err := ch.check(a, now); err != nil {
				return err
			}
		}
		if err := tx.SetStatus(ctx, &a, to, now); err != nil {
			return err
		}
		msgs := []outbox.Message{audited(ctx, ch.action, a)}
		if ch.after != nil {
			msgs = append(msgs, ch.after(a)...)
		}
		out = a
		return tx.Enqueue(ctx, msgs...)
	})
	return out, err
}

func to(status string) func(auth.Identity) string {
	return func(auth.Identity) string { return status }
}

// doctorOr admits the appointment's doctor and callers with one of roles.
func doctorOr(roles ...string) func(auth.Identity, Appointment) bool {
	return func(c auth.Identity, a Appointment) bool { return isDoctorOf(c, a) || c.HasRole(roles...) }
}

// Cancel: the patient (CANCELLED_PATIENT) or the doctor, a nurse or an admin
// (CANCELLED_DOCTOR), from PENDING or CONFIRMED, before the appointment
// starts. The slot is free again at once.
func (s *Service) Cancel(ctx context.Context, id int64) (Appointment, error) {
	return s.apply(ctx, id, change{
		action: actionCancel,
		allowed: func(c auth.Identity, a Appointment) bool {
			return isPatientOf(c, a) || doctorOr(auth.RoleNurse, auth.RoleAdmin)(c, a)
		},
		to: func(c auth.Identity) string {
			if c.Role == auth.RolePatient {
				return StatusCancelledPatient
			}
			return StatusCancelledDoctor
		},
		from: []string{StatusPending, StatusConfirmed},
		check: func(a Appointment, now time.Time) error {
			if !a.AppointmentTime.After(now) {
				return errStarted
			}
			return nil
		},
	})
}

// Confirm: the doctor, a nurse or an admin; PENDING → CONFIRMED. The
// patient is told.
func (s *Service) Confirm(ctx context.Context, id int64) (Appointment, error) {
	return s.apply(ctx, id, change{
		action: actionConfirm, allowed: doctorOr(auth.RoleNurse, auth.RoleAdmin), to: to(StatusConfirmed),
		from: []string{StatusPending}, after: s.confirmedMessages,
	})
}

// Complete: the doctor or an admin; CONFIRMED → COMPLETED, not before the
// appointment's start. EHR gets the encounter link and Billing the
// consultation invoice.
func (s *Service) Complete(ctx context.Context, id int64) (Appointment, error) {
	return s.apply(ctx, id, change{
		action: actionComplete, allowed: doctorOr(auth.RoleAdmin), to: to(StatusCompleted),
		from: []string{StatusConfirmed},
		check: func(a Appointment, now time.Time) error {
			if now.Before(a.AppointmentTime) {
				return errNotStarted
			}
			return nil
		},
		after: s.completedMessages,
	})
}

// Update changes notes_doctor and reason_for_visit (the doctor, a nurse or
// an admin), and/or marks a NO_SHOW once the appointment's time has passed.
func (s *Service) Update(ctx context.Context, id int64, in UpdateRequest) (Appointment, error) {
	if in.NotesDoctor == nil && in.ReasonForVisit == nil && in.Status == nil {
		return Appointment{}, errNothingToUpdate
	}
	c, err := caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	allowed := doctorOr(auth.RoleNurse, auth.RoleAdmin)
	if in.Status != nil {
		a, err := s.apply(ctx, id, change{
			action: actionNoShow, allowed: allowed, to: to(StatusNoShow),
			from: []string{StatusPending, StatusConfirmed},
			check: func(a Appointment, now time.Time) error {
				if now.Before(a.EndTime()) {
					return errNoShowTooEarly
				}
				return nil
			},
		})
		if err != nil || (in.NotesDoctor == nil && in.ReasonForVisit == nil) {
			return a, err
		}
	}
	var out Appointment
	err = s.commitAndKick(ctx, func(tx Tx) error {
		a, err := tx.AppointmentForUpdate(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		if !allowed(c, a) {
			return errForbidden
		}
		if in.NotesDoctor != nil {
			a.NotesDoctor = *in.NotesDoctor
		}
		if in.ReasonForVisit != nil {
			a.ReasonForVisit = *in.ReasonForVisit
		}
		a.UpdatedAt = s.clock()
		if err := tx.SetDetails(ctx, a); err != nil {
			return err
		}
		out = a
		return tx.Enqueue(ctx, audited(ctx, actionUpdate, a))
	})
	return out, err
}
