// Package booking holds the rules of the Appointment service (spec section
// 3): doctors' schedules and the free slots computed from them, booking that
// cannot double-book, the appointment lifecycle, reminders, and what each of
// them tells Notification, EHR, Billing and the audit log. It speaks neither
// HTTP (package httpapi) nor SQL (package store).
package booking

import (
	"context"
	"fmt"
	"time"

	"hospital/lib/auth"
	"hospital/lib/userapi"
)

// Deps are what the Service works with.
type Deps struct {
	Store Store
	// Users finds doctors and patients; New puts a cache in front of it
	// (Config.UserCacheTTL).
	Users Directory
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Kick wakes the outbox dispatcher after a commit that enqueued
	// messages (nothing when nil).
	Kick func()
}

// Service holds every rule of the appointment domain. Its methods take the
// caller's identity from ctx (auth.Identity); the route table has already
// checked the caller's role, the methods check what is theirs.
type Service struct {
	cfg   Config
	loc   *time.Location
	fee   string
	store Store
	users Directory
	now   func() time.Time
	kick  func()
}

// New returns the Service for cfg, which must be valid.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Users == nil {
		return nil, fmt.Errorf("booking: a store and a user directory are required")
	}
	s := &Service{cfg: cfg, loc: cfg.location(), fee: cfg.fee(), store: d.Store, users: d.Users, now: d.Now, kick: d.Kick}
	if s.now == nil {
		s.now = time.Now
	}
	if s.kick == nil {
		s.kick = func() {}
	}
	if cfg.UserCacheTTL > 0 {
		s.users = userapi.Cached(d.Users, cfg.UserCacheSize, cfg.UserCacheTTL)
	}
	return s, nil
}

// Location is the clinic's time zone: dates in queries are its days.
func (s *Service) Location() *time.Location { return s.loc }

// MaxDaysAhead is the largest days_in_advance of an availability query.
func (s *Service) MaxDaysAhead() int { return s.cfg.MaxDaysAhead }

// clock is now, to the second, in UTC (what the database keeps).
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// clinicTime formats t for people, in the clinic's time zone.
func (s *Service) clinicTime(t time.Time) string {
	return t.In(s.loc).Format("2006-01-02 15:04")
}

// caller is the identity in ctx (the router has put one there).
func caller(ctx context.Context) (auth.Identity, error) { return auth.Caller(ctx) }

// isPatientOf, isDoctorOf: the caller is that party of a.
func isPatientOf(c auth.Identity, a Appointment) bool {
	return c.Role == auth.RolePatient && c.IsUser(a.PatientID)
}

func isDoctorOf(c auth.Identity, a Appointment) bool {
	return c.Role == auth.RoleDoctor && c.IsUser(a.DoctorID)
}

// commitAndKick runs fn in a transaction and wakes the dispatcher when it
// committed messages.
func (s *Service) commitAndKick(ctx context.Context, fn func(Tx) error) error {
	if err := s.store.InTx(ctx, fn); err != nil {
		return err
	}
	s.kick()
	return nil
}
