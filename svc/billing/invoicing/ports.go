package invoicing

import (
	"context"
	"errors"
	"time"

	"hospital/lib/idempotency"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Errors the store reports.
var (
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique key (source of an invoice, policy number, open
	// claim) is taken.
	ErrDuplicate = errors.New("duplicate")
)

// Store holds invoices, payments, policies and claims (package store).
type Store interface {
	// InTx runs fn in one transaction (run again on a deadlock).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Invoice(ctx context.Context, id int64) (Invoice, error)
	Invoices(ctx context.Context, f InvoiceFilter, p Page) ([]Invoice, int, error)
	Policies(ctx context.Context, patientID int64, p Page) ([]InsurancePolicy, int, error)
	Claims(ctx context.Context, f ClaimFilter, p Page) ([]InsuranceClaim, int, error)
	// ProviderHasClaim reports whether a claim on invoiceID names a policy
	// of the insurance provider user providerID.
	ProviderHasClaim(ctx context.Context, providerID, invoiceID int64) (bool, error)
	ClaimInvoiceID(ctx context.Context, claimID int64) (int64, error)
	// PendingCardPayments are card payments still PENDING created before.
	PendingCardPayments(ctx context.Context, before time.Time, limit int) ([]PendingCard, error)
	// Overdue returns the ids of unpaid invoices due before today.
	Overdue(ctx context.Context, today Date, limit int) ([]int64, error)
}

// Source kinds of an invoice made by another service.
const (
	SourceAppointment = "appointment"
	SourceDispense    = "dispense"
	SourceLabOrder    = "lab_order"
)

// Tx is the store inside one transaction.
type Tx interface {
	// BeginKey claims an idempotency key (see lib/idempotency.Begin).
	BeginKey(scope, key, fingerprint string) (*idempotency.Stored, error)
	FinishKey(scope, key string, status int, body []byte) error
	// NextInvoiceNumber takes the next number of year ("INV-2026-000001").
	NextInvoiceNumber(year int) (string, error)
	// InsertInvoice stores inv and its items and sets their ids; ErrDuplicate
	// when its source already has an invoice.
	InsertInvoice(inv *Invoice) error
	InvoiceBySource(kind, id string) (Invoice, error)
	// LockInvoice reads the invoice (with items and payments) and locks it
	// until the transaction ends.
	LockInvoice(id int64) (Invoice, error)
	UpdateInvoice(inv Invoice) error
	// Reserved is what is promised but not yet paid: PENDING payments and
	// open claims (their approved amount once decided, else the claimed one).
	Reserved(invoiceID int64) (Money, error)
	OpenClaims(invoiceID int64) (int, error)
	// InsertPayment stores p and sets its id; a card payment keeps its
	// attempt (token, idempotency key) until it is settled.
	InsertPayment(p *Payment, attempt *CardAttempt) error
	LockPayment(id int64) (Payment, error)
	UpdatePayment(p Payment) error
	InsertPolicy(p *InsurancePolicy) error
	Policy(id int64) (InsurancePolicy, error)
	// InsertClaim stores c; ErrDuplicate when an open claim for the same
	// invoice and policy exists.
	InsertClaim(c *InsuranceClaim) error
	LockClaim(id int64) (InsuranceClaim, error)
	UpdateClaim(c InsuranceClaim) error
	// ClaimEvent records a status change and returns its id (the key of the
	// notification it causes).
	ClaimEvent(claimID int64, from, to string, actor int64, role string) (int64, error)
	// Enqueue puts messages in the outbox, committed with the change.
	Enqueue(msgs ...outbox.Message) error
}

// Directory finds users in the user service (lib/userapi.Client).
type Directory interface {
	User(ctx context.Context, id int64) (userapi.User, error)
}

// PaymentGateway charges and refunds cards (package stripepay over Stripe).
// A *GatewayRefusal error means nothing was charged; any other error means
// the outcome is unknown and the same IdempotencyKey must be used to ask again.
type PaymentGateway interface {
	Charge(ctx context.Context, c Charge) (transactionID string, err error)
	Refund(ctx context.Context, transactionID, idempotencyKey string) error
}

// Charge is one card charge.
type Charge struct {
	Amount         int64 // in the currency's smallest unit
	Currency       string
	Token          string
	IdempotencyKey string
	Description    string
	Metadata       map[string]string
}

// CardAttempt is what a PENDING card payment needs to be asked about again:
// the gateway token (a reference to the card at the gateway, never card
// data; cleared once settled) and the client's idempotency key.
type CardAttempt struct {
	Token, Scope, Key string
}

// PendingCard is a card payment whose outcome is not recorded yet.
type PendingCard struct {
	Payment
	CardAttempt
}
