package laboratory

import (
	"context"

	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Change is the change being recorded on a document: the version it will
// be, and Send for the messages it causes, which go out if and only if it
// is recorded (lib/mongodb/versioned).
type Change = versioned.Change

// Store keeps the catalog and the orders (package store). Each write is one
// insert of a new version of its document, carrying its outbox messages; a
// change that loses a race to another is applied again to the newer
// version, so fn must decide from the document it is given only.
type Store interface {
	// CreateTest records a new catalog test; ErrExists when its id (its
	// code) is taken.
	CreateTest(ctx context.Context, t *CatalogTest, msgs ...outbox.Message) error
	Test(ctx context.Context, id string) (CatalogTest, error)
	UpdateTest(ctx context.Context, id string, fn func(t *CatalogTest, ch *Change) error) (CatalogTest, error)
	Tests(ctx context.Context, includeRetired bool, limit, offset int) ([]CatalogTest, int, error)
	CountActiveTests(ctx context.Context) (int, error)

	// CreateOrder records a new order; ErrExists when its id is taken (a
	// repeated request under the same Idempotency-Key).
	CreateOrder(ctx context.Context, o *Order, msgs ...outbox.Message) error
	Order(ctx context.Context, id string) (Order, error)
	UpdateOrder(ctx context.Context, id string, fn func(o *Order, ch *Change) error) (Order, error)
	// PatientOrders lists a patient's orders in status, newest release
	// (then order) first.
	PatientOrders(ctx context.Context, patientID int64, status string, limit, offset int) ([]Order, int, error)
	// Pending lists the orders in the lab's queue (REQUESTED and
	// SAMPLE_COLLECTED), URGENT first, then oldest first.
	Pending(ctx context.Context, limit, offset int) ([]Order, int, error)
	CountOrders(ctx context.Context, status string) (int, error)

	// Enqueue puts messages in the outbox (the audit events of a read).
	Enqueue(ctx context.Context, msgs ...outbox.Message) error
	// Once runs work once per (scope, key): a repeated key gets the first
	// answer, the same key with another fingerprint is a 422
	// (lib/idempotency/mongokeys). An empty key just runs work.
	Once(ctx context.Context, scope, key, fingerprint string, work func(ctx context.Context) (int, []byte, error)) (int, []byte, error)
}

// Directory finds users in the user service (lib/userapi.Client).
type Directory interface {
	User(ctx context.Context, id int64) (userapi.User, error)
}
