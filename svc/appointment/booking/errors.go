package booking

import (
	"errors"
	"fmt"
	"strings"

	"hospital/lib/apperr"
)

// What the store reports; the domain turns them into answers.
var (
	// ErrNotFound: no row with that id.
	ErrNotFound = errors.New("not found")
	// ErrSlotTaken: the doctor's slot is held by another active appointment
	// (the unique key on doctor_id, active_slot).
	ErrSlotTaken = errors.New("slot taken")
)

// The domain's answers. An *apperr.Error is never changed once built, so
// these are shared by every request.
var (
	errForbidden      = apperr.Forbidden("You do not have permission to perform this action.")
	errNotFound       = apperr.NotFound("Appointment not found.")
	errSlotTaken      = apperr.Conflict("This slot is already booked; choose another one.").WithCode("slot_taken")
	errBookOthers     = apperr.Forbidden("A patient can only book appointments for themself.")
	errPatientMissing = apperr.Field("patient_id", "This field is required when staff book for a patient.")
	errTimeFormat     = apperr.Field("appointment_time",
		"Datetime has wrong format. Use RFC 3339 (2026-12-01T09:00:00+07:00) or a clinic time without offset (2026-12-01T09:00:00).")
	errTimePast        = apperr.Field("appointment_time", "The appointment time must be in the future.")
	errNotSlotStart    = apperr.Field("appointment_time", "The appointment time must be the start of a free slot.")
	errNotInSchedule   = apperr.Field("appointment_time", "This time is not a slot of the doctor's schedule; see the availability endpoint.")
	errNoDoctor        = apperr.Field("doctor_id", "No active doctor with this id.")
	errNoPatient       = apperr.Field("patient_id", "No active patient with this id.")
	errStarted         = apperr.Conflict("The appointment has already started; it can no longer be cancelled.")
	errNotStarted      = apperr.Conflict("An appointment cannot be completed before its start time.")
	errNoShowTooEarly  = apperr.Conflict("An appointment can be marked NO_SHOW only after its time has passed.")
	errNothingToUpdate = apperr.Invalid("Nothing to update: send notes_doctor, reason_for_visit or status.")
	errNoSuchDoctor    = apperr.NotFound("No doctor with this id.")
	errBadStatus       = apperr.Field("status", "Select a valid choice: "+strings.Join(Statuses, ", ")+".")
)

func errTransition(from, to string) error {
	return apperr.Conflict(fmt.Sprintf("Cannot change an appointment from %s to %s.", from, to))
}

func errPatientOverlap(other Appointment, when string) error {
	return apperr.Conflict(fmt.Sprintf("The patient already has appointment %d at %s overlapping this time.", other.ID, when)).
		WithCode("patient_overlap")
}

func errTooManyOpen(max int) error {
	return apperr.Conflict(fmt.Sprintf("The patient already holds %d upcoming appointments, the most allowed; cancel one first.", max)).
		WithCode("too_many_open_appointments").With("max_open_appointments", max)
}

func errBeyondHorizon(days int) error {
	return apperr.Field("appointment_time", fmt.Sprintf("Appointments can be booked at most %d days ahead.", days))
}
