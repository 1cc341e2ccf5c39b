package booking

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"hospital/lib/config"
)

// Config is the appointment service's environment (README.md, Settings).
type Config struct {
	config.Base
	MySQLDSN string `env:"MYSQL_DSN,required"`
	// ClinicTimezone: schedules are wall-clock times there; dates in queries
	// are clinic days, and an appointment_time without an offset is read there.
	ClinicTimezone string        `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	SlotDuration   time.Duration `env:"APPOINTMENT_DURATION" envDefault:"30m"`
	// ConsultationFee is the amount billed for a completed appointment.
	ConsultationFee string `env:"CONSULTATION_FEE" envDefault:"150000.00"`
	// MaxDaysAhead bounds days_in_advance of the availability query.
	MaxDaysAhead int `env:"AVAILABILITY_MAX_DAYS" envDefault:"90"`
	// BookingHorizonDays: how far ahead a slot may be booked.
	BookingHorizonDays int `env:"BOOKING_HORIZON_DAYS" envDefault:"90"`
	// MaxOpenPerPatient: how many upcoming PENDING/CONFIRMED appointments one
	// patient may hold at once.
	MaxOpenPerPatient int `env:"MAX_OPEN_APPOINTMENTS_PER_PATIENT" envDefault:"10"`
	// UserCacheTTL is how long a user looked up in the user service (a
	// doctor, or a patient a nurse books for) is reused; a deactivation
	// reaches bookings at most this late. 0 turns the cache off.
	UserCacheTTL  time.Duration `env:"USER_CACHE_TTL" envDefault:"15s"`
	UserCacheSize int           `env:"USER_CACHE_SIZE" envDefault:"10000"`

	ReminderBefore   time.Duration `env:"REMINDER_BEFORE" envDefault:"24h"`
	ReminderInterval time.Duration `env:"REMINDER_INTERVAL" envDefault:"1m"`
	OutboxPoll       time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

// MaxUserCacheTTL bounds USER_CACHE_TTL: a deactivated doctor must stop
// being bookable within half a minute.
const MaxUserCacheTTL = 30 * time.Second

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.ServiceSecret == "" {
		errs = append(errs, errors.New("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)"))
	}
	if _, err := time.LoadLocation(c.ClinicTimezone); err != nil || c.ClinicTimezone == "" {
		errs = append(errs, fmt.Errorf("CLINIC_TIMEZONE %q: not a known IANA time zone", c.ClinicTimezone))
	}
	if c.SlotDuration < 5*time.Minute || c.SlotDuration%time.Minute != 0 || c.SlotDuration > MaxSlotDuration {
		errs = append(errs, fmt.Errorf("APPOINTMENT_DURATION %s: whole minutes, from 5m to 12h", c.SlotDuration))
	}
	if fee, err := decimal.NewFromString(c.ConsultationFee); err != nil || fee.IsNegative() {
		errs = append(errs, fmt.Errorf("CONSULTATION_FEE %q: a non-negative decimal is required", c.ConsultationFee))
	}
	if c.MaxDaysAhead < 0 || c.MaxDaysAhead > 366 {
		errs = append(errs, fmt.Errorf("AVAILABILITY_MAX_DAYS %d: from 0 to 366", c.MaxDaysAhead))
	}
	if c.BookingHorizonDays < 1 || c.BookingHorizonDays > 3660 {
		errs = append(errs, fmt.Errorf("BOOKING_HORIZON_DAYS %d: from 1 to 3660", c.BookingHorizonDays))
	}
	if c.MaxOpenPerPatient < 1 {
		errs = append(errs, fmt.Errorf("MAX_OPEN_APPOINTMENTS_PER_PATIENT %d: at least 1", c.MaxOpenPerPatient))
	}
	if c.UserCacheTTL < 0 || c.UserCacheTTL > MaxUserCacheTTL {
		errs = append(errs, fmt.Errorf("USER_CACHE_TTL %s: from 0 to %s", c.UserCacheTTL, MaxUserCacheTTL))
	}
	if c.UserCacheTTL > 0 && c.UserCacheSize < 1 {
		errs = append(errs, fmt.Errorf("USER_CACHE_SIZE %d: at least 1 while the cache is on", c.UserCacheSize))
	}
	if c.ReminderBefore <= 0 || c.ReminderInterval <= 0 {
		errs = append(errs, errors.New("REMINDER_BEFORE and REMINDER_INTERVAL must be positive"))
	}
	return errors.Join(errs...)
}

// location is the clinic's time zone; Validate has checked it.
func (c Config) location() *time.Location {
	loc, err := time.LoadLocation(c.ClinicTimezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// fee is CONSULTATION_FEE as the invoice carries it ("150000.00").
func (c Config) fee() string {
	d, _ := decimal.NewFromString(c.ConsultationFee)
	return d.StringFixed(2)
}
