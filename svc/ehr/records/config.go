package records

import (
	"errors"
	"fmt"
	"time"

	"hospital/lib/config"
)

// Config is the EHR service's environment.
type Config struct {
	config.Base
	// MongoURI reaches MongoDB (FerretDB locally); make run puts it, with
	// credentials, in the service's Nomad Variable.
	MongoURI string `env:"MONGO_URI" envDefault:"mongodb://127.0.0.1:27017/"`
	MongoDB  string `env:"MONGO_DB" envDefault:"hospital_ehr"`
	// ClinicTimezone: "this week" on the dashboard and "today" for a
	// nurse's care relationship are clinic days.
	ClinicTimezone string `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	// CareCacheTTL is how long an answer to "may this clinician read this
	// patient's record" is reused (it costs up to three look-ups, one of
	// them at the appointment service).
	CareCacheTTL time.Duration `env:"CARE_CACHE_TTL" envDefault:"30s"`
	// UserCacheTTL is how long a user's name and role from the user
	// service is reused.
	UserCacheTTL time.Duration `env:"USER_CACHE_TTL" envDefault:"1m"`
	// BreakGlassMinReason is the shortest reason accepted for breaking the
	// glass (characters).
	BreakGlassMinReason int           `env:"BREAK_GLASS_MIN_REASON" envDefault:"10"`
	OutboxPoll          time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax    time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

// MaxCacheTTL bounds both caches: a revoked care relationship or a
// deactivated doctor must not be trusted for longer.
const MaxCacheTTL = 5 * time.Minute

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.ClinicTimezone); err != nil {
		errs = append(errs, fmt.Errorf("CLINIC_TIMEZONE %q: %w", c.ClinicTimezone, err))
	}
	if c.MongoURI == "" || c.MongoDB == "" {
		errs = append(errs, errors.New("MONGO_URI and MONGO_DB are required"))
	}
	if c.ServiceSecret == "" {
		errs = append(errs, errors.New("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)"))
	}
	for name, d := range map[string]time.Duration{"CARE_CACHE_TTL": c.CareCacheTTL, "USER_CACHE_TTL": c.UserCacheTTL} {
		if d < 0 || d > MaxCacheTTL {
			errs = append(errs, fmt.Errorf("%s %s: from 0 to %s", name, d, MaxCacheTTL))
		}
	}
	if c.BreakGlassMinReason < 1 || c.BreakGlassMinReason > maxReason {
		errs = append(errs, fmt.Errorf("BREAK_GLASS_MIN_REASON %d: from 1 to %d", c.BreakGlassMinReason, maxReason))
	}
	return errors.Join(errs...)
}
