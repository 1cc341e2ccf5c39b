package booking

import (
	"context"
	"time"

	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Store is the appointment database (package store holds its one
// implementation and all of its SQL). Reads outside a transaction are here;
// writes that must hold together run in InTx.
type Store interface {
	// InTx runs fn in one transaction: what fn does commits together or not
	// at all. On a deadlock fn runs again from the start, so fn touches the
	// database only through its Tx.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Appointment returns one appointment, or ErrNotFound.
	Appointment(ctx context.Context, id int64) (Appointment, error)
	// Appointments returns one page matching f, soonest first, and the total.
	Appointments(ctx context.Context, f ListFilter, limit, offset int) ([]Appointment, int, error)
	// BookedIntervals returns what a doctor's active appointments hold in iv.
	BookedIntervals(ctx context.Context, doctorID int64, iv Interval) ([]Interval, error)
	// Schedules returns a doctor's schedule entries.
	Schedules(ctx context.Context, doctorID int64) ([]DoctorSchedule, error)
	// SaveSchedule creates e, or updates the entry with its doctor, day,
	// start and valid_from, and records msgs in the same transaction; it
	// returns the entry and whether it was created.
	SaveSchedule(ctx context.Context, e DoctorSchedule, now time.Time, msgs ...outbox.Message) (DoctorSchedule, bool, error)
	// DueReminders lists CONFIRMED appointments starting in (now,
	// now+before] that have had no reminder.
	DueReminders(ctx context.Context, now time.Time, before time.Duration, limit int) ([]Appointment, error)
	// Enqueue records messages on their own (the audit event of a read).
	Enqueue(ctx context.Context, msgs ...outbox.Message) error
	// HasAppointment reports whether an appointment matching f exists in
	// any status but cancelled.
	HasAppointment(ctx context.Context, f CareFilter) (bool, error)
}

// Clashes is what stands in the way of a booking.
type Clashes struct {
	// DoctorOverlap and PatientOverlap are the id of an active appointment
	// of the doctor, of the patient, overlapping the interval (0: none).
	DoctorOverlap, PatientOverlap int64
	// Open counts the patient's active appointments that have not ended,
	// up to the limit asked for.
	Open int
}

// Tx is the store inside one transaction.
type Tx interface {
	// LockBooking serialises the bookings of one doctor and of one patient
	// until the transaction ends.
	LockBooking(ctx context.Context, doctorID, patientID int64) error
	// Clashes reads, in one go, what stands in the way of booking iv for
	// doctorID and patientID; open appointments are those ending after now.
	Clashes(ctx context.Context, doctorID, patientID int64, iv Interval, now time.Time, openLimit int) (Clashes, error)
	// Insert stores a new appointment and sets its ID; ErrSlotTaken when
	// the doctor's slot is held.
	Insert(ctx context.Context, a *Appointment) error
	// AppointmentForUpdate reads and locks one appointment, or ErrNotFound.
	AppointmentForUpdate(ctx context.Context, id int64) (Appointment, error)
	// SetStatus changes the status, and with it whether the slot is held.
	SetStatus(ctx context.Context, a *Appointment, status string, now time.Time) error
	// SetDetails saves notes_doctor, reason_for_visit and updated_at.
	SetDetails(ctx context.Context, a Appointment) error
	// MarkReminded sets the reminder marker unless it is set; false if it was.
	MarkReminded(ctx context.Context, id int64, now time.Time) (bool, error)
	// Enqueue records messages to deliver once the transaction commits.
	Enqueue(ctx context.Context, msgs ...outbox.Message) error
}

// Directory finds users in the user service (userapi.Client satisfies it).
type Directory interface {
	User(ctx context.Context, id int64) (userapi.User, error)
}
