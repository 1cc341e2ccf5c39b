package records

import (
	"context"
	"errors"
	"time"

	"hospital/lib/appointmentapi"
	"hospital/lib/idempotency"
	"hospital/lib/idempotency/mongokeys"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Errors the store reports.
var (
	// ErrNotFound: no such record, encounter or reference.
	ErrNotFound = errors.New("not found")
	// ErrExists: a document with that id was recorded before (a replay,
	// or a concurrent twin).
	ErrExists = errors.New("already exists")
	// ErrConflict: the encounter is no longer at the version the change
	// was decided on (If-Match), or contention outlasted the retries.
	ErrConflict = errors.New("changed concurrently")
)

// Change is a change to apply to the latest version of a record or an
// encounter: it edits the value it is given and returns the messages (the
// audit event) to record with it. It may run more than once, each time on
// a newer version, if other changes land first; it decides only from what
// it is given.
type Change[T any] func(v *T) ([]outbox.Message, error)

// Store holds the medical records (package store). Every write is an
// insert under a unique id, or a new version of a record or an encounter
// (see README, "Storage"); the messages of a change are recorded in the
// same insert.
type Store interface {
	// Record returns a patient's record, or ErrNotFound.
	Record(ctx context.Context, patientID int64) (Record, error)
	// CreateRecord records r; ErrExists if the patient has one.
	CreateRecord(ctx context.Context, r Record, msgs ...outbox.Message) error
	// UpdateRecord applies change to the patient's record.
	UpdateRecord(ctx context.Context, patientID int64, change Change[Record]) (Record, error)
	// Chart returns the record and everything recorded for the patient;
	// ErrNotFound without a record.
	Chart(ctx context.Context, patientID int64) (Chart, error)

	// Encounter returns one encounter with its vitals and references.
	Encounter(ctx context.Context, id string) (Encounter, error)
	// EncounterFields returns one encounter without its vitals and
	// references (its own fields, diagnoses and treatment plans).
	EncounterFields(ctx context.Context, id string) (Encounter, error)
	// CreateEncounter records e (its id chosen by the caller); ErrExists
	// if an encounter with that id exists.
	CreateEncounter(ctx context.Context, e Encounter, msgs ...outbox.Message) error
	// UpdateEncounter applies change to the latest version of the
	// encounter, or only to version (If-Match) when it is not 0.
	UpdateEncounter(ctx context.Context, id string, version int64, change Change[Encounter]) (Encounter, error)

	// AddVitals records v; ErrExists if its vital_id exists.
	AddVitals(ctx context.Context, v VitalSign, msgs ...outbox.Message) error
	// Vitals returns one set of vital signs.
	Vitals(ctx context.Context, id string) (VitalSign, error)
	// AddPrescriptionReference and AddLabResultReference record a
	// reference once: ErrExists when it was recorded before.
	AddPrescriptionReference(ctx context.Context, r PrescriptionReference, msgs ...outbox.Message) error
	PrescriptionReference(ctx context.Context, prescriptionID string) (PrescriptionReference, error)
	AddLabResultReference(ctx context.Context, r LabResultReference, msgs ...outbox.Message) error
	LabResultReference(ctx context.Context, itemID string) (LabResultReference, error)

	// WroteFor reports whether the clinician wrote an encounter or
	// recorded vital signs in the patient's record.
	WroteFor(ctx context.Context, patientID, clinicianID int64) (bool, error)
	// RecordBreakGlass keeps an access granted without a care
	// relationship, for review.
	RecordBreakGlass(ctx context.Context, b BreakGlass) error
	// Counts returns the dashboard's figures: records, encounters dated in
	// the clinic week (WeekOf), break-glass accesses since.
	Counts(ctx context.Context, week string, since time.Time) (Dashboard, error)
	// Enqueue records messages on their own (the audit event of a read).
	Enqueue(ctx context.Context, msgs ...outbox.Message) error
}

// Keys is the idempotent receiver (lib/idempotency/mongokeys).
type Keys interface {
	Do(ctx context.Context, scope, key, fingerprint string, work mongokeys.Work) (idempotency.Stored, error)
}

// Directory finds users in the user service (lib/userapi.Client).
type Directory interface {
	User(ctx context.Context, id int64) (userapi.User, error)
}

// Appointments answers whether a patient has an appointment (with a
// doctor, on a day) at the appointment service (lib/appointmentapi.Client).
type Appointments interface {
	Care(ctx context.Context, q appointmentapi.CareQuery) (appointmentapi.Care, error)
}
