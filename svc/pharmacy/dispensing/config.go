package dispensing

import (
	"errors"
	"fmt"
	"time"

	"hospital/lib/config"
)

// Config is the pharmacy service's environment.
type Config struct {
	config.Base
	MongoURI string `env:"MONGO_URI" envDefault:"mongodb://127.0.0.1:27017/"`
	MongoDB  string `env:"MONGO_DB" envDefault:"hospital_pharmacy"`
	// ClinicTimezone decides "today" for expiry dates.
	ClinicTimezone string `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	// ExpiryWarningDays is the window of "expiring soon" in the stock list
	// and the dashboard until the live pharmacy.expiry_warning_days is set.
	ExpiryWarningDays int `env:"EXPIRY_WARNING_DAYS" envDefault:"30"`
	// MaxItemQuantity bounds quantity_prescribed of one item.
	MaxItemQuantity int64 `env:"MAX_ITEM_QUANTITY" envDefault:"10000"`
	// DispenseTimeout bounds the work of one dispense once it has started
	// taking stock (it is not cut short by the client going away);
	// DispenseLease is how long a dispense holds its lease: an interrupted
	// dispense is rolled back or finished by the recovery once it is over.
	DispenseTimeout time.Duration `env:"DISPENSE_TIMEOUT" envDefault:"20s"`
	DispenseLease   time.Duration `env:"DISPENSE_LEASE" envDefault:"60s"`
	// RecoveryInterval is how often interrupted dispenses are looked for.
	RecoveryInterval time.Duration `env:"RECOVERY_INTERVAL" envDefault:"30s"`
	// WriteOffInterval is how often expired batches are written off
	// (0: only by hand, with write_off_expired).
	WriteOffInterval time.Duration `env:"EXPIRY_WRITE_OFF_INTERVAL" envDefault:"1h"`
	OutboxPoll       time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.ClinicTimezone); err != nil {
		errs = append(errs, fmt.Errorf("CLINIC_TIMEZONE %q: %w", c.ClinicTimezone, err))
	}
	if c.MongoURI == "" || c.MongoDB == "" {
		errs = append(errs, errors.New("MONGO_URI and MONGO_DB are required"))
	}
	if c.ExpiryWarningDays < 1 || c.ExpiryWarningDays > 365 {
		errs = append(errs, fmt.Errorf("EXPIRY_WARNING_DAYS %d: from 1 to 365", c.ExpiryWarningDays))
	}
	if c.MaxItemQuantity < 1 || c.MaxItemQuantity > 1_000_000 {
		errs = append(errs, fmt.Errorf("MAX_ITEM_QUANTITY %d: from 1 to 1000000", c.MaxItemQuantity))
	}
	if c.DispenseTimeout < time.Second {
		errs = append(errs, fmt.Errorf("DISPENSE_TIMEOUT %s: at least 1s", c.DispenseTimeout))
	}
	// The lease must outlast the work by a margin: the recovery takes over
	// a dispense only when its lease is over, and by then its own work must
	// have stopped.
	if c.DispenseLease < 2*c.DispenseTimeout {
		errs = append(errs, fmt.Errorf("DISPENSE_LEASE %s: at least twice DISPENSE_TIMEOUT (%s)", c.DispenseLease, c.DispenseTimeout))
	}
	if c.RecoveryInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("RECOVERY_INTERVAL %s: at least 100ms", c.RecoveryInterval))
	}
	if c.WriteOffInterval != 0 && c.WriteOffInterval < time.Second {
		errs = append(errs, fmt.Errorf("EXPIRY_WRITE_OFF_INTERVAL %s: 0 or at least 1s", c.WriteOffInterval))
	}
	if c.ServiceSecret == "" {
		errs = append(errs, errors.New("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)"))
	}
	return errors.Join(errs...)
}
