// Command user is the User service: accounts, roles, JWT issuing and the
// password flows (spec section 1). See README.md for its settings.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"time"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/lib/settings"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
	"hospital/svc/user/store"
)

func main() { service.Main("user", run) }

func run() error {
	cfg, err := config.Load[accounts.Config]()
	if err != nil {
		return err
	}
	clients, err := accounts.ParseServiceClients(cfg.ServiceClients)
	if err != nil {
		return err
	}
	s, err := service.New("user", cfg.Base)
	if err != nil {
		return err
	}
	key, err := signingKey(cfg, s.Log)
	if err != nil {
		return err
	}

	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(startCtx, cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer st.Close()

	signer := auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	// The user service signs its own service tokens for outgoing calls.
	s.Client.SetTokenSource(auth.NewSignerTokens(signer, s.Name, 10*time.Minute))
	dispatcher := outbox.NewDispatcher(st.DB(), s.Client, outbox.Options{Registerer: s.Registry, Logger: s.Log})

	// Revocations are published here and followed here too (lib/service),
	// so this service's own endpoints refuse revoked tokens like every other's.
	revocations := s.Revocations

	// The lockout numbers follow the admin service's configuration live;
	// the environment's values until it sets them.
	live := settings.NewWatcher(s.Consul, settings.Options{Logger: s.Log})
	throttle := cfg.Throttle()
	maxFailures := settings.Watch(live, settings.LoginMaxFailures, throttle.PairMaxFailures)
	lock := settings.Watch(live, settings.LoginLock, throttle.Lock)

	svc := accounts.New(st, accounts.Options{
		Signer: signer, ServiceClients: clients, PublicBaseURL: cfg.PublicBaseURL,
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, Throttle: throttle,
		LiveThrottle:  func() accounts.Throttle { return throttle.WithLockout(maxFailures.Get(), lock.Get()) },
		ResetInterval: cfg.ResetEmailInterval, ResetsPerDay: cfg.ResetEmailsPerDay,
		HashMemory: cfg.PasswordHashMemoryMiB << 20,
		Kick:       dispatcher.Kick, Logger: s.Log,
		Publisher: auth.NewRevocationPublisher(s.Consul, ""), Revocations: revocations,
	})
	bootstrapAdmin(startCtx, svc, cfg, s.Log)

	return s.Run(context.Background(), service.Spec{
		API:       httpapi.Routes(svc),
		Info:      api.Info{Title: "user service", Description: "Accounts, sign-in and the password flows."},
		Verifier:  svc.Verifier(),
		Checks:    map[string]health.Check{"mysql": mysqldb.Ping(st.DB()), "settings": live.Check},
		StoreDown: mysqldb.Unreachable,
		Background: []func(context.Context){
			dispatcher.Run,
			live.Run,
			svc.RunResets,
			func(ctx context.Context) { svc.RunRevocations(ctx, 2*time.Second) },
			service.Every(time.Minute, s.Log, "revocation pruning", svc.PruneRevocations),
			// Every instance: a put only raises a time, and one list every
			// interval costs Consul nothing worth an election.
			service.Every(cfg.RevocationResyncInterval, s.Log, "revocation resync", func(ctx context.Context) error {
				_, err := svc.ResyncRevocations(ctx)
				return err
			}),
			service.Every(time.Hour, s.Log, "housekeeping", svc.Cleanup),
		},
	})
}

func signingKey(cfg accounts.Config, log *slog.Logger) (ed25519.PrivateKey, error) {
	if cfg.JWTKeyFile != "" {
		return auth.LoadOrGenerateKey(cfg.JWTKeyFile, cfg.JWTGenerateKey)
	}
	if !cfg.JWTGenerateKey {
		return nil, errors.New("JWT_KEY_FILE is required (or JWT_GENERATE_KEY=true for a throwaway key)")
	}
	// A key that lives only in this process: tokens die with it, and other
	// instances cannot verify them. Fine for a test, wrong for anything else.
	log.Warn("JWT_KEY_FILE not set: signing with a throwaway in-memory key")
	_, key, err := ed25519.GenerateKey(rand.Reader)
	return key, err
}

// bootstrapAdmin creates the first ADMIN from the environment when none
// exists. A failure is logged, not fatal: the service is still useful, and
// the log says what to fix.
func bootstrapAdmin(ctx context.Context, svc *accounts.Service, cfg accounts.Config, log *slog.Logger) {
	u, p, e := cfg.BootstrapAdminUsername, cfg.BootstrapAdminPassword, cfg.BootstrapAdminEmail
	if u == "" && p == "" && e == "" {
		return
	}
	if u == "" || p == "" || e == "" {
		log.Error("bootstrap admin skipped: set all of BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_PASSWORD and BOOTSTRAP_ADMIN_EMAIL")
		return
	}
	created, err := svc.Bootstrap(ctx, u, p, e)
	switch {
	case err != nil:
		log.Error("bootstrap admin not created", "err", err.Error())
	case created:
		log.Info("bootstrap admin account created")
	default:
		log.Info("an admin account exists; bootstrap admin not needed")
	}
}
