// Package dispensing holds the pharmacy's rules: the medication catalog,
// prescriptions (the allergy check, verification, cancellation), stock by
// batch and its movement ledger, dispensing first-expiry-first-out without
// ever overselling, low-stock alerts and the pharmacy's side of billing. It
// speaks no HTTP and no BSON: the store and the other services come in
// through the interfaces in ports.go.
package dispensing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/outbox"
)

// ServiceName is the pharmacy's name in Consul and in audit events.
const ServiceName = "pharmacy"

// Deps are the service's collaborators.
type Deps struct {
	Store  Store
	Users  Users
	Roster Roster
	EHR    AllergyRecords
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ExpiryWarningDays is the window of "expiring soon" as it is now (the
	// live pharmacy.expiry_warning_days), read at each use; the Config's
	// ExpiryWarningDays when nil.
	ExpiryWarningDays func() int
	Logger            *slog.Logger
}

// Service is the pharmacy domain.
type Service struct {
	store  Store
	users  Users
	roster Roster
	ehr    AllergyRecords
	cfg    Config
	loc    *time.Location
	now    func() time.Time
	log    *slog.Logger
	// expiryDays is the window of "expiring soon" now (Deps.ExpiryWarningDays).
	expiryDays func() int
	// catalog holds the medications this instance has read (see medication).
	catalog sync.Map
}

// New returns the domain over d with the settings in cfg.
func New(cfg Config, d Deps) (*Service, error) {
	loc, err := time.LoadLocation(cfg.ClinicTimezone)
	if err != nil {
		return nil, fmt.Errorf("CLINIC_TIMEZONE: %w", err)
	}
	if d.Store == nil || d.Users == nil || d.Roster == nil || d.EHR == nil {
		return nil, errors.New("dispensing: store, users, roster and EHR are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.ExpiryWarningDays == nil {
		d.ExpiryWarningDays = func() int { return cfg.ExpiryWarningDays }
	}
	return &Service{store: d.Store, users: d.Users, roster: d.Roster, ehr: d.EHR, cfg: cfg, loc: loc, now: d.Now, log: d.Logger,
		expiryDays: d.ExpiryWarningDays}, nil
}

// today is the clinic's current day, as midnight UTC of that date (how
// expiry dates are kept).
func (s *Service) today() time.Time { return dateOf(s.now().In(s.loc)) }

// dateOf is t's calendar date at midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// caller is the signed-in identity (the route table already admitted it).
func caller(ctx context.Context) (auth.Identity, error) { return auth.Caller(ctx) }

// event starts an audit event of this service.
func event(ctx context.Context, action string, patientID int64, objectType, objectID string) audit.Event {
	return audit.New(ctx, ServiceName, action).OnPatient(patientID).On(objectType, objectID)
}

// record queues the audit events of a read (there is no change to carry
// them): the read is not answered unless they are queued.
func (s *Service) record(ctx context.Context, events ...audit.Event) error {
	msgs := make([]outbox.Message, len(events))
	for i, e := range events {
		msgs[i] = e.Message()
	}
	if err := s.store.Enqueue(ctx, msgs...); err != nil {
		return fmt.Errorf("record audit events: %w", err)
	}
	return nil
}

// storeErr maps the store's errors to the client's: ErrNotFound is a 404,
// contention a 503 to retry; anything else is wrapped with what failed.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return errNotFound
	case errors.Is(err, ErrContended):
		return errContended
	}
	return fmt.Errorf("%s: %w", what, err)
}
