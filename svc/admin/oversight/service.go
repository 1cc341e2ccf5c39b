// Package oversight holds the rules of the admin service (spec section 8):
// the platform's audit log (every service's events, append-only and
// hash-chained, searched and verified here), the system configurations
// that reach the services live through Consul, the dashboard assembled
// from every service's figures, and the batch tasks that recalculate the
// reports. It speaks neither HTTP (package httpapi) nor SQL (package store).
package oversight

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"hospital/lib/audit"
)

// ServiceName is the admin service's name in Consul and in its own audit
// events.
const ServiceName = "admin"

// Deps are what the Service works with.
type Deps struct {
	Store Store
	// Figures asks the other services for their dashboard figures.
	Figures FigureSource
	// Publisher puts configuration values in Consul KV for the services.
	Publisher Publisher
	// Instance names this instance as a task runner.
	Instance string
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service holds every rule of the admin domain. Its methods take the
// caller's identity from ctx; the route table has already checked the
// caller's role.
type Service struct {
	cfg       Config
	loc       *time.Location
	extraKeys []string
	store     Store
	figures   FigureSource
	publisher Publisher
	instance  string
	now       func() time.Time
	log       *slog.Logger
	chain     *committer
}

// New returns the Service for cfg, which must be valid.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Figures == nil || d.Publisher == nil {
		return nil, fmt.Errorf("oversight: a store, a figure source and a publisher are required")
	}
	extra, _ := parseKeyPatterns(cfg.ExtraConfigKeys)
	s := &Service{cfg: cfg, loc: cfg.location(), extraKeys: extra, store: d.Store, figures: d.Figures,
		publisher: d.Publisher, instance: d.Instance, now: d.Now, log: d.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.instance == "" {
		s.instance = ServiceName
	}
	s.chain = &committer{store: d.Store, max: cfg.AuditBatchMax, now: s.now, log: s.log}
	return s, nil
}

// Location is the clinic's time zone: date filters are its days.
func (s *Service) Location() *time.Location { return s.loc }

// record appends one of the admin service's own events to the log. The
// log is local, so nothing waits in an outbox; a failure is the caller's
// failure (an action that cannot be audited is not done).
func (s *Service) record(ctx context.Context, ev audit.Event) error {
	e, err := entryFrom(ev)
	if err != nil {
		return fmt.Errorf("own audit event %s: %w", ev.Action, err)
	}
	if _, _, err := s.chain.append(ctx, e); err != nil {
		return fmt.Errorf("record %s: %w", ev.Action, err)
	}
	return nil
}
