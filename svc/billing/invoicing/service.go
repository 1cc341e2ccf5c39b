// Package invoicing holds the billing rules: invoices from appointments,
// dispenses and lab orders (exactly one each), payments by card and at the
// counter, refunds, insurance policies and the claim lifecycle. It speaks
// no HTTP and no SQL: the store and the payment gateway come in through the
// interfaces in ports.go.
package invoicing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hospital/lib/auth"
	"hospital/lib/outbox"
)

// Options are the service's settings and collaborators besides the store.
type Options struct {
	Location *time.Location
	// DueDays is how many days after issue an invoice falls due, read at
	// each invoice (it will come live from the admin service's settings).
	DueDays  func() int
	Currency Currency
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Kick asks the outbox to deliver at once (after a commit).
	Kick   func()
	Logger *slog.Logger
}

// Service is the billing domain.
type Service struct {
	store   Store
	gateway PaymentGateway
	users   Directory
	opts    Options
}

// New returns the domain over store, charging cards through gateway and
// looking users up in users.
func New(store Store, gateway PaymentGateway, users Directory, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.DueDays == nil {
		opts.DueDays = func() int { return 30 }
	}
	if opts.Kick == nil {
		opts.Kick = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Currency.Code == "" {
		opts.Currency, _ = CurrencyFor("vnd")
	}
	return &Service{store: store, gateway: gateway, users: users, opts: opts}
}

// today is the clinic's current day.
func (s *Service) today() Date { return DateOf(s.opts.Now().In(s.opts.Location)) }

// inTx runs fn in a transaction and kicks the outbox after a commit.
func (s *Service) inTx(ctx context.Context, fn func(tx Tx) error) error {
	if err := s.store.InTx(ctx, fn); err != nil {
		return err
	}
	s.opts.Kick()
	return nil
}

// record writes audit events of a read (no other change to commit them with).
func (s *Service) record(ctx context.Context, msgs ...outbox.Message) error {
	return s.inTx(ctx, func(tx Tx) error { return tx.Enqueue(msgs...) })
}

// settle recomputes what is due and the status an open invoice has from
// its amounts, its open claims and today (see the README's machine).
func settle(inv *Invoice, openClaims int, today Date) {
	paid := inv.AmountPaidByPatient.Add(inv.AmountPaidByInsurance)
	inv.AmountDue = inv.TotalAmount.Sub(paid)
	switch inv.Status {
	case StatusDraft, StatusCancelled, StatusWrittenOff:
		return
	}
	switch {
	case !inv.AmountDue.IsPositive():
		inv.Status = StatusPaid
	case openClaims > 0:
		inv.Status = StatusPendingInsurance
	case inv.DueDate.Before(today):
		inv.Status = StatusOverdue
	case paid.IsPositive():
		inv.Status = StatusPartiallyPaid
	default:
		inv.Status = StatusPendingPatient
	}
}

// fingerprint identifies a request's content for its idempotency key.
func fingerprint(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, _ := json.Marshal(p)
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// caller is the signed-in identity (the route table already admitted it).
func caller(ctx context.Context) (auth.Identity, error) { return auth.Caller(ctx) }

// mustOwn admits ADMIN, or the patient patientID themself.
func mustOwn(c auth.Identity, patientID int64) error {
	if c.Role == auth.RoleAdmin || (c.Role == auth.RolePatient && c.IsUser(patientID)) {
		return nil
	}
	return errNotYours
}

func notFound(err error, what string, n int64) error {
	if errors.Is(err, ErrNotFound) {
		return errNotFound
	}
	return fmt.Errorf("load %s %d: %w", what, n, err)
}
