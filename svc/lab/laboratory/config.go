package laboratory

import (
	"errors"
	"fmt"
	"time"

	"hospital/lib/config"
)

// Config is the lab service's environment.
type Config struct {
	config.Base
	MongoURI string `env:"MONGO_URI" envDefault:"mongodb://127.0.0.1:27017/"`
	MongoDB  string `env:"MONGO_DB" envDefault:"hospital_lab"`
	// ClinicTimezone: a patient's age, for age-banded reference ranges, is
	// counted on the clinic's calendar.
	ClinicTimezone string `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	// MaxItemsPerOrder bounds the tests in one order.
	MaxItemsPerOrder int `env:"LAB_MAX_ITEMS_PER_ORDER" envDefault:"30"`
	// UserCacheTTL is how long a user's name, role, sex and date of birth
	// from the user service are reused (a deactivated patient can still be
	// ordered for until it runs out).
	UserCacheTTL time.Duration `env:"USER_CACHE_TTL" envDefault:"1m"`
	// IdempotencyRetention is how long an order's Idempotency-Key is
	// remembered.
	IdempotencyRetention time.Duration `env:"IDEMPOTENCY_RETENTION" envDefault:"48h"`
	OutboxPoll           time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax     time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

// MaxUserCacheTTL bounds USER_CACHE_TTL: a deactivated patient or doctor
// must not be trusted for longer.
const MaxUserCacheTTL = 5 * time.Minute

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.ClinicTimezone); err != nil {
		errs = append(errs, fmt.Errorf("CLINIC_TIMEZONE %q: %w", c.ClinicTimezone, err))
	}
	if c.MaxItemsPerOrder < 1 || c.MaxItemsPerOrder > 100 {
		errs = append(errs, fmt.Errorf("LAB_MAX_ITEMS_PER_ORDER %d: from 1 to 100", c.MaxItemsPerOrder))
	}
	if c.UserCacheTTL < 0 || c.UserCacheTTL > MaxUserCacheTTL {
		errs = append(errs, fmt.Errorf("USER_CACHE_TTL %s: from 0 to %s", c.UserCacheTTL, MaxUserCacheTTL))
	}
	if c.IdempotencyRetention < time.Hour {
		errs = append(errs, fmt.Errorf("IDEMPOTENCY_RETENTION %s: at least 1h (clients retry for longer than that)", c.IdempotencyRetention))
	}
	if c.ServiceSecret == "" {
		errs = append(errs, errors.New("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)"))
	}
	if c.MongoURI == "" || c.MongoDB == "" {
		errs = append(errs, errors.New("MONGO_URI and MONGO_DB are required"))
	}
	return errors.Join(errs...)
}
