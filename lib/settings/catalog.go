package settings

import (
	"slices"
	"strings"
	"time"
)

// The platform's keys. A service that follows a key watches it with the
// service's own setting as the fallback; a key is added here together with
// the code that reads it, so an admin never sets a value nobody uses.
var (
	// ConsultationFee is what a completed appointment bills (flow F2).
	ConsultationFee = Money("appointment.consultation_fee",
		"Amount billed for a completed appointment: the invoice of every appointment completed after the change carries it (the appointment service's CONSULTATION_FEE until set).",
		"150000.00", "appointment")
	// ReminderBefore is how long before a confirmed appointment its
	// reminders go out.
	ReminderBefore = Duration("appointment.reminder_before",
		"How long before a confirmed appointment its patient and doctor are reminded (REMINDER_BEFORE until set). An appointment is reminded once; a longer offset reaches the appointments that newly fall inside it.",
		24*time.Hour, 15*time.Minute, 7*24*time.Hour, "appointment")
	// InvoiceDueDays is how many days after issue an invoice falls due.
	InvoiceDueDays = Integer("billing.invoice_due_days",
		"Days after its issue date that a new invoice falls due (INVOICE_DUE_DAYS until set); invoices already issued keep their due date.",
		30, 0, 365, "billing")
	// LoginMaxFailures is how many failed sign-ins of one account from one
	// client lock that client out of that account.
	LoginMaxFailures = Integer("user.login_max_failures",
		"Failed sign-ins of one account from one client before that client is locked out of it for user.login_lock (LOGIN_PAIR_MAX_FAILURES until set). Kept below the account-wide delay threshold (LOGIN_ACCOUNT_DELAY_AFTER) and the per-client limit (LOGIN_CLIENT_MAX_FAILURES): a larger value is capped there.",
		5, 1, 20, "user")
	// NotificationMaxAttempts is how many delivery attempts a message gets
	// before it ends FAILED.
	NotificationMaxAttempts = Integer("notification.max_attempts",
		"Delivery attempts of a message before it ends FAILED (MAX_ATTEMPTS until set); a message already waiting gets the new number from its next attempt on.",
		6, 1, 20, "notification")
	// LoginLock is how long such a lockout lasts.
	LoginLock = Duration("user.login_lock",
		"How long a client stays locked out after too many failed sign-ins, and how long without failures before the counters start over (LOGIN_LOCK until set).",
		15*time.Minute, time.Minute, 24*time.Hour, "user")
	// PharmacyExpiryWarningDays is the window of "expiring soon" in the
	// pharmacy's stock.
	PharmacyExpiryWarningDays = Integer("pharmacy.expiry_warning_days",
		"Days ahead within which a batch counts as expiring soon: the default window of expiring_batches in the pharmacy's stock list and the batches expiring soon on the admin dashboard (EXPIRY_WARNING_DAYS until set). A list that asks for its own window (expiring_within_days) keeps it.",
		30, 1, 365, "pharmacy")
)

var catalog = []Definition{ConsultationFee, ReminderBefore, InvoiceDueDays, LoginMaxFailures, LoginLock, NotificationMaxAttempts,
	PharmacyExpiryWarningDays}

// Catalog is every documented key, by name.
func Catalog() []Definition {
	out := slices.Clone(catalog)
	slices.SortFunc(out, func(a, b Definition) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// Lookup finds a documented key.
func Lookup(name string) (Definition, bool) {
	for _, d := range catalog {
		if d.Name() == name {
			return d, true
		}
	}
	return nil, false
}
