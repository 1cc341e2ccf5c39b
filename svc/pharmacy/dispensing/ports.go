package dispensing

import (
	"context"
	"errors"
	"time"

	"hospital/lib/ehrapi"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Errors the store reports.
var (
	// ErrNotFound: no such document.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique key (an _id, a medication_code) is taken.
	ErrDuplicate = errors.New("duplicate")
	// ErrContended: a change lost the race for the next version too often.
	ErrContended = errors.New("changed concurrently too often")
)

// Store is the pharmacy's MongoDB database (package store holds its one
// implementation and all of its BSON). There are no transactions: every
// change that must hold together is one insert (a new version of a
// prescription or a stock record, a dispense log, a ledger entry) that
// carries its outbox messages; see docs in store.
type Store interface {
	Catalog
	Prescriptions
	Stocks
	Dispenses
	// Enqueue queues messages on their own (the audit event of a read,
	// the fan-out of a stock alert).
	Enqueue(ctx context.Context, msgs ...outbox.Message) error
	// Idempotent answers a repeated key in scope with the first answer,
	// or runs work (which must itself be idempotent by key: see
	// lib/idempotency/mongokeys). The same key for another fingerprint is
	// a 422.
	Idempotent(ctx context.Context, scope, key, fingerprint string, work func(ctx context.Context) (int, []byte, error)) (int, []byte, error)
}

// Page is one page of a list.
type Page struct{ Limit, Offset int }

// Catalog holds the medication catalog.
type Catalog interface {
	// InsertMedication stores m with msgs; ErrDuplicate when its code is
	// taken.
	InsertMedication(ctx context.Context, m Medication, msgs ...outbox.Message) error
	Medication(ctx context.Context, id string) (Medication, error)
	// Medications returns one page, by name, of the medications whose
	// name, generic name or code contains search (any case), and the total.
	Medications(ctx context.Context, search string, p Page) ([]Medication, int, error)
}

// Change is how a change of a versioned document is made: fn gets the
// latest version (its Version field is that number) and changes it in
// place, returning the messages to send with it. If another change is
// recorded first, fn runs again on the newer version, so it must decide
// only from the document it is given. An error from fn records nothing.
type Change[T any] func(doc *T) ([]outbox.Message, error)

// Prescriptions holds prescriptions, kept by versions.
type Prescriptions interface {
	// CreatePrescription records p as version 1 with msgs; ErrDuplicate
	// when a prescription with its id exists.
	CreatePrescription(ctx context.Context, p *Prescription, msgs ...outbox.Message) error
	Prescription(ctx context.Context, id string) (Prescription, error)
	// PrescriptionSnapshot reads the prescription as last projected (one
	// read instead of two). It may lag the latest version by a change in
	// flight: it serves only to decide early what the change itself then
	// decides again on the latest version.
	PrescriptionSnapshot(ctx context.Context, id string) (Prescription, error)
	UpdatePrescription(ctx context.Context, id string, fn Change[Prescription]) (Prescription, error)
	// PatientPrescriptions and AwaitingPharmacy return one page, newest
	// first (oldest first for the pharmacy's queue), and the total.
	PatientPrescriptions(ctx context.Context, patientID int64, f PrescriptionFilter, p Page) ([]Prescription, int, error)
	AwaitingPharmacy(ctx context.Context, f PrescriptionFilter, p Page) ([]Prescription, int, error)
	// WithPendingDispenses returns up to limit prescriptions with a
	// dispense under way.
	WithPendingDispenses(ctx context.Context, limit int) ([]Prescription, error)
	CountByStatus(ctx context.Context, status string) (int, error)
}

// Stocks holds the stock records, kept by versions, and their movement
// ledger.
type Stocks interface {
	Stock(ctx context.Context, medicationID string) (Stock, error)
	// StockSnapshot is PrescriptionSnapshot for a stock record.
	StockSnapshot(ctx context.Context, medicationID string) (Stock, error)
	AllStock(ctx context.Context) ([]Stock, error)
	// UpdateStock is UpdatePrescription for a stock record; a medication
	// without one starts from an empty record (Version 0). Each change's
	// LastMovement goes to the ledger.
	UpdateStock(ctx context.Context, medicationID string, fn Change[Stock]) (Stock, error)
	// Movements returns one page of a medication's ledger, newest first,
	// and the total.
	Movements(ctx context.Context, medicationID string, f MovementFilter, p Page) ([]Movement, int, error)
	// DispenseMovements returns what a dispense did to a medication's
	// stock (its DISPENSE and any DISPENSE_REVERSAL).
	DispenseMovements(ctx context.Context, medicationID, dispenseLogID string) ([]Movement, error)
}

// Dispenses holds dispense logs and the leases of dispenses under way.
type Dispenses interface {
	// InsertDispenseLog stores d; ErrDuplicate when it exists.
	InsertDispenseLog(ctx context.Context, d DispenseLog) error
	DispenseLog(ctx context.Context, id string) (DispenseLog, error)
	// SetPaymentStatus moves a log's payment status from from to to (no
	// change when it is not at from).
	SetPaymentStatus(ctx context.Context, id, from, to string) error
	// Lease claims name for ttl for this caller alone; release is nil
	// when another holder has it.
	Lease(ctx context.Context, name string, ttl time.Duration) (release func(context.Context), err error)
}

// Users finds users in the user service (userapi.Client satisfies it).
type Users interface {
	User(ctx context.Context, id int64) (userapi.User, error)
}

// Roster lists active users by role (userapi.Client satisfies it).
type Roster interface {
	ActiveWithRole(ctx context.Context, role string) ([]userapi.User, error)
}

// AllergyRecords reads a patient's allergies in the EHR (ehrapi.Client
// satisfies it).
type AllergyRecords interface {
	Allergies(ctx context.Context, patientID int64) (ehrapi.Allergies, error)
}
