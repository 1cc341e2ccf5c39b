package accounts

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"hospital/lib/config"
)

// Config is the user service's environment (see README.md, Settings).
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
	AccessTokenTTL         time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL        time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"168h"`
}

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("ACCESS_TOKEN_TTL %s: want 1m to 24h", c.AccessTokenTTL))
	}
	if c.RefreshTokenTTL < c.AccessTokenTTL {
		errs = append(errs, fmt.Errorf("REFRESH_TOKEN_TTL %s is shorter than ACCESS_TOKEN_TTL", c.RefreshTokenTTL))
	}
	if u, err := url.Parse(c.PublicBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("PUBLIC_BASE_URL %q: want an absolute http(s) URL", c.PublicBaseURL))
	}
	if _, err := ParseServiceClients(c.ServiceClients); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
