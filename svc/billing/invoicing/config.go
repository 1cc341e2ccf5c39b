package invoicing

import (
	"errors"
	"fmt"
	"time"

	"hospital/lib/config"
)

// Config is the billing service's environment.
type Config struct {
	config.Base
	MySQLDSN string `env:"MYSQL_DSN,required"`
	// ClinicTimezone: issue dates, due dates and policy validity are clinic days.
	ClinicTimezone string `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	// InvoiceDueDays is how many days after issue an invoice falls due. It
	// will later come live from the admin service's configuration.
	InvoiceDueDays int `env:"INVOICE_DUE_DAYS" envDefault:"30"`
	// Currency is what invoices are in and cards are charged in (ISO 4217).
	Currency string `env:"BILLING_CURRENCY" envDefault:"vnd"`
	// StripeSecretKey and StripeAPIBase reach the payment gateway; locally
	// and in tests the base is a stripe-mock server.
	StripeSecretKey string        `env:"STRIPE_SECRET_KEY" envDefault:"sk_test_123"`
	StripeAPIBase   string        `env:"STRIPE_API_BASE" envDefault:"http://127.0.0.1:12111"`
	StripeTimeout   time.Duration `env:"STRIPE_TIMEOUT" envDefault:"20s"`
	// OverdueInterval is how often the leader marks unpaid invoices past
	// their due date OVERDUE; PendingInterval how often card payments whose
	// outcome is unknown are settled with the gateway.
	OverdueInterval time.Duration `env:"OVERDUE_INTERVAL" envDefault:"1h"`
	PendingInterval time.Duration `env:"PENDING_PAYMENT_INTERVAL" envDefault:"1m"`
	// PendingAfter is how old an unsettled card payment must be before the
	// settler looks at it (a request may still be finishing it).
	PendingAfter     time.Duration `env:"PENDING_PAYMENT_AFTER" envDefault:"2m"`
	OutboxPoll       time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.ClinicTimezone); err != nil {
		errs = append(errs, fmt.Errorf("CLINIC_TIMEZONE %q: %w", c.ClinicTimezone, err))
	}
	if c.InvoiceDueDays < 0 || c.InvoiceDueDays > 365 {
		errs = append(errs, fmt.Errorf("INVOICE_DUE_DAYS %d: from 0 to 365", c.InvoiceDueDays))
	}
	if _, err := CurrencyFor(c.Currency); err != nil {
		errs = append(errs, fmt.Errorf("BILLING_CURRENCY: %w", err))
	}
	if c.ServiceSecret == "" {
		errs = append(errs, errors.New("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)"))
	}
	if c.StripeSecretKey == "" || c.StripeAPIBase == "" {
		errs = append(errs, errors.New("STRIPE_SECRET_KEY and STRIPE_API_BASE are required"))
	}
	for name, d := range map[string]time.Duration{"OVERDUE_INTERVAL": c.OverdueInterval, "PENDING_PAYMENT_INTERVAL": c.PendingInterval} {
		if d < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("%s %s: at least 100ms", name, d))
		}
	}
	return errors.Join(errs...)
}
