package accounts

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"hospital/lib/auth"
)

// Options configure a Service; zero durations take the defaults.
type Options struct {
	Signer         *auth.Signer
	ServiceClients ServiceClients
	// PublicBaseURL is where users reach the platform (links in emails).
	PublicBaseURL string
	AccessTTL     time.Duration // 15 min
	RefreshTTL    time.Duration // 7 days
	ResetTTL      time.Duration // 1 hour
	// At most one reset email per ResetInterval (5 min) and ResetsPerDay (5)
	// a day per address.
	ResetInterval   time.Duration
	ResetsPerDay    int
	ServiceTokenTTL time.Duration // 10 min
	Throttle        Throttle      // DefaultThrottle
	// HashMemory bounds the memory of password hashing (see NewHasher).
	HashMemory int64
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// Kick is called after a commit that enqueued outbox messages.
	Kick func()
	// Publisher tells every service about revocations (Consul KV); nil
	// records them without publishing.
	Publisher RevocationPublisher
	// Revocations, when set, makes the service's own token check refuse
	// revoked tokens too (and wait until they are loaded).
	Revocations *auth.Revocations
	Logger      *slog.Logger
}

// Service holds the user service's rules. The route table decides which
// roles reach each method; the methods check what only the data can tell
// (is the account still active, is this the caller's own session).
type Service struct {
	store    Store
	opts     Options
	signer   *auth.Signer
	verifier *auth.Verifier
	hasher   *Hasher
	log      *slog.Logger
	// republish asks RunRevocations to try again at once.
	republish chan struct{}
	// resets are the reset requests RunResets works through.
	resets chan string
}

// New returns the service over store.
func New(store Store, opts Options) *Service {
	if opts.AccessTTL == 0 {
		opts.AccessTTL = 15 * time.Minute
	}
	if opts.RefreshTTL == 0 {
		opts.RefreshTTL = 7 * 24 * time.Hour
	}
	if opts.ResetTTL == 0 {
		opts.ResetTTL = time.Hour
	}
	if opts.ResetInterval == 0 {
		opts.ResetInterval = 5 * time.Minute
	}
	if opts.ResetsPerDay == 0 {
		opts.ResetsPerDay = 5
	}
	if opts.ServiceTokenTTL == 0 {
		opts.ServiceTokenTTL = 10 * time.Minute
	}
	if opts.Throttle == (Throttle{}) {
		opts.Throttle = DefaultThrottle
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Kick == nil {
		opts.Kick = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.PublicBaseURL = strings.TrimRight(opts.PublicBaseURL, "/")
	vopts := []auth.VerifierOption{auth.WithCache(auth.DefaultCacheSize)}
	if opts.Revocations != nil {
		vopts = append(vopts, auth.WithRevocations(opts.Revocations))
	}
	return &Service{
		store: store, opts: opts, signer: opts.Signer,
		verifier:  auth.NewVerifier(opts.Signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience, vopts...),
		hasher:    NewHasher(opts.HashMemory),
		log:       opts.Logger,
		republish: make(chan struct{}, 1),
		resets:    make(chan string, 256),
	}
}

// Verifier checks tokens against the service's own signing key.
func (s *Service) Verifier() *auth.Verifier { return s.verifier }

// JWKS is the public key set other services verify tokens with.
func (s *Service) JWKS() auth.JWKS { return s.signer.JWKS() }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// requireUser returns the calling user's current account: tokens outlive a
// deactivation by up to their TTL, so the account is checked every time.
func (s *Service) requireUser(ctx context.Context) (Account, error) {
	id, err := auth.Caller(ctx)
	if err != nil {
		return Account{}, err
	}
	if id.UserID == 0 {
		return Account{}, errNotAUser
	}
	a, err := s.store.UserByID(ctx, id.UserID)
	if errors.Is(err, ErrNotFound) {
		return Account{}, errNoUser
	}
	if err != nil {
		return Account{}, err
	}
	if !a.IsActive {
		return Account{}, errInactive
	}
	return a, nil
}

// requireAdmin returns the calling ADMIN's account, checked against the
// stored role as well as the token's.
func (s *Service) requireAdmin(ctx context.Context) (Account, error) {
	a, err := s.requireUser(ctx)
	if err != nil {
		return Account{}, err
	}
	if a.Role != auth.RoleAdmin {
		return Account{}, errNotAdmin
	}
	return a, nil
}

// requireAdminOrService admits active ADMIN users and platform services
// (which the route table has already narrowed down).
func (s *Service) requireAdminOrService(ctx context.Context) error {
	id, err := auth.Caller(ctx)
	if err != nil {
		return err
	}
	if id.IsService() {
		return nil
	}
	_, err = s.requireAdmin(ctx)
	return err
}
