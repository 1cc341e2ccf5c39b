// Command user is the User service: accounts, roles, JWT issuing and the
// password flows (spec section 1). See README.md for its settings.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"hospital/lib/auth"
	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/svc/user/user"
)

// Config is the user service's environment.
type Config struct {
	config.Base
	MySQLDSN string `env:"MYSQL_DSN,required"`
	// JWTKeyFile holds the Ed25519 signing key (PKCS#8 PEM).
	JWTKeyFile string `env:"JWT_KEY_FILE"`
	// JWTGenerateKey creates JWTKeyFile when it does not exist (dev).
	JWTGenerateKey bool `env:"JWT_GENERATE_KEY" envDefault:"false"`
	// ServiceClients: "name=secret,name2=secret2", who may get service tokens.
	ServiceClients         string        `env:"SERVICE_CLIENTS"`
	BootstrapAdminUsername string        `env:"BOOTSTRAP_ADMIN_USERNAME"`
	BootstrapAdminPassword string        `env:"BOOTSTRAP_ADMIN_PASSWORD"`
	BootstrapAdminEmail    string        `env:"BOOTSTRAP_ADMIN_EMAIL"`
	PublicBaseURL          string        `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8080"`
	AccessTokenTTL         time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL        time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"168h"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "user:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load[Config]()
	if err != nil {
		return err
	}
	clients, err := user.ParseServiceClients(cfg.ServiceClients)
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
	db, err := mysqldb.Open(startCtx, cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := user.Migrate(startCtx, db); err != nil {
		return err
	}

	signer := auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	// The user service signs its own service tokens for outgoing calls.
	s.Client.SetTokenSource(auth.NewSignerTokens(signer, s.Name, 10*time.Minute))
	dispatcher := outbox.NewDispatcher(db, s.Client, outbox.Options{Registerer: s.Registry, Logger: s.Log})

	svc := user.New(db, user.Options{
		Signer: signer, ServiceClients: clients, PublicBaseURL: cfg.PublicBaseURL,
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		Kick: dispatcher.Kick, Logger: s.Log,
	})
	bootstrapAdmin(startCtx, svc, cfg, s.Log)

	return s.Run(context.Background(), service.Spec{
		Handler:    user.Router(svc),
		Routes:     user.GatewayRoutes(),
		Checks:     map[string]health.Check{"mysql": mysqldb.Ping(db)},
		Background: []func(context.Context){dispatcher.Run, service.Every(time.Hour, s.Log, "housekeeping", svc.Cleanup)},
	})
}

func signingKey(cfg Config, log *slog.Logger) (ed25519.PrivateKey, error) {
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
func bootstrapAdmin(ctx context.Context, svc *user.Service, cfg Config, log *slog.Logger) {
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
