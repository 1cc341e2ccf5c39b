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
	// Sign-in throttling (see Throttle).
	LoginPairMaxFailures   int           `env:"LOGIN_PAIR_MAX_FAILURES" envDefault:"5"`
	LoginClientMaxFailures int           `env:"LOGIN_CLIENT_MAX_FAILURES" envDefault:"50"`
	LoginAccountDelayAfter int           `env:"LOGIN_ACCOUNT_DELAY_AFTER" envDefault:"10"`
	LoginAccountDelayMax   time.Duration `env:"LOGIN_ACCOUNT_DELAY_MAX" envDefault:"5m"`
	LoginLock              time.Duration `env:"LOGIN_LOCK" envDefault:"15m"`
	// PasswordHashMemoryMiB bounds the memory all password hashes running
	// at once may use (19 MiB each); 0: half of GOMEMLIMIT, or 64 MiB.
	PasswordHashMemoryMiB int64 `env:"PASSWORD_HASH_MEMORY_MIB" envDefault:"0"`
	// Reset emails per address: at most one per interval, and so many a day.
	ResetEmailInterval time.Duration `env:"RESET_EMAIL_INTERVAL" envDefault:"5m"`
	ResetEmailsPerDay  int           `env:"RESET_EMAILS_PER_DAY" envDefault:"5"`
	// RevocationResyncInterval is how often the token revocations Consul
	// lost are written back (ResyncRevocations).
	RevocationResyncInterval time.Duration `env:"REVOCATION_RESYNC_INTERVAL" envDefault:"30s"`
}

// Throttle is the sign-in throttle the settings describe.
func (c Config) Throttle() Throttle {
	return Throttle{
		PairMaxFailures: c.LoginPairMaxFailures, ClientMaxFailures: c.LoginClientMaxFailures,
		AccountDelayAfter: c.LoginAccountDelayAfter, AccountDelayMax: c.LoginAccountDelayMax, Lock: c.LoginLock,
	}
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
	t := c.Throttle()
	if t.PairMaxFailures < 1 || t.ClientMaxFailures < t.PairMaxFailures || t.AccountDelayAfter <= t.PairMaxFailures {
		errs = append(errs, errors.New("LOGIN_*: want 1 <= LOGIN_PAIR_MAX_FAILURES <= LOGIN_CLIENT_MAX_FAILURES and "+
			"LOGIN_ACCOUNT_DELAY_AFTER > LOGIN_PAIR_MAX_FAILURES (one client alone must not slow the owner)"))
	}
	if t.AccountDelayMax < time.Second || t.Lock < time.Minute {
		errs = append(errs, errors.New("LOGIN_ACCOUNT_DELAY_MAX must be at least 1s and LOGIN_LOCK at least 1m"))
	}
	if c.PasswordHashMemoryMiB < 0 {
		errs = append(errs, errors.New("PASSWORD_HASH_MEMORY_MIB must not be negative"))
	}
	if c.ResetEmailInterval < 0 || c.ResetEmailsPerDay < 1 {
		errs = append(errs, errors.New("RESET_EMAIL_INTERVAL must not be negative and RESET_EMAILS_PER_DAY must be at least 1"))
	}
	// Slower than the access tokens' life, a lost revocation would come
	// back only after every token it refuses had expired.
	if c.RevocationResyncInterval < time.Second || c.RevocationResyncInterval >= c.AccessTokenTTL {
		errs = append(errs, fmt.Errorf("REVOCATION_RESYNC_INTERVAL %s: want at least 1s and less than ACCESS_TOKEN_TTL", c.RevocationResyncInterval))
	}
	if _, err := ParseServiceClients(c.ServiceClients); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
