package notify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"hospital/lib/apperr"
)

// What the store answers when a record is missing, a unique key is taken,
// or another change was decided on the version a change was decided on.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("duplicate")
	ErrConflict  = errors.New("changed concurrently")
)

// The domain's answers. An *apperr.Error never changes once built, so these
// are shared by every request.
var (
	errTemplateNotFound = apperr.NotFound("Template not found.")
	errLogNotFound      = apperr.NotFound("Notification log not found.")
	errUniqueTemplate   = apperr.Validation(map[string][]string{
		"non_field_errors": {"The fields notification_type, channel, language must make a unique set."},
	})
	errBadChannel = apperr.Field("channel", "Select a valid choice: EMAIL, SMS or PUSH.")
	errBadStatus  = apperr.Field("status", "Select a valid choice: PENDING, SENT, FAILED or DELIVERED.")
	// Filters that cannot name anything stored (and could not be sent to
	// the store as they are: PostgreSQL refuses NUL characters).
	errBadTypeFilter     = apperr.Field("notification_type", "Use upper-case letters, digits and underscores, e.g. APPOINTMENT_CONFIRMED_PATIENT.")
	errBadLanguageFilter = apperr.Field("language", `Use a language code such as "vi" or "en".`)
	errKeyReused         = apperr.Unprocessable("This Idempotency-Key was already used for a different request.")
	errAdminOnly         = apperr.Forbidden("You do not have permission to perform this action.")
	errNoCaller          = apperr.Unauthenticated("Authentication credentials were not provided.")

	errTemplateBusy   = apperr.Conflict("Another request is changing this template right now; read it again and repeat your change.")
	errLogBusy        = apperr.Conflict("Another request is retrying this notification right now.")
	errNeverAddressed = apperr.Conflict("This notification was never deliverable (no template or no contact); send it again instead.")
	errNoContent      = apperr.Conflict("This notification's content is not kept (a sensitive request, or past the retention period); the sender must send it again.")

	// errSendLater answers a sensitive request whose delivery failed for
	// now: nothing of it was kept, so only the sender can try again.
	errSendLater = apperr.Unavailable("The notification could not be delivered right now and its content is not kept; send the same request again later.", 30*time.Second)
)

func errRetryNotFailed(status string) error {
	return apperr.Conflict(fmt.Sprintf("Only FAILED notifications can be retried; this one is %s.", status))
}

// errTypeNotYours refuses a service sending another service's type.
func errTypeNotYours(service, typ string) error {
	return apperr.Forbidden(fmt.Sprintf("The %s service may not send %s notifications.", service, typ))
}

func errUnknownType(typ string) error {
	return apperr.Field("notification_type", fmt.Sprintf("Unknown notification type %q.", typ))
}

func errUnknownRecipient(id int64) error {
	return apperr.Field("recipient_id", fmt.Sprintf("User %d does not exist.", id))
}

// errDataDoesNotFit names every template variable the data lacks.
func errDataDoesNotFit(reasons []string) error {
	e := apperr.Validation(map[string][]string{"data": reasons})
	e.Detail = "The data does not fill the template: " + strings.Join(reasons, " ")
	return e
}

// errUndeliverable: no requested channel has both a template and an address.
func errUndeliverable(field string, reasons []string) error {
	e := apperr.Validation(map[string][]string{field: reasons})
	e.Detail = "The notification cannot be delivered on any requested channel: " + strings.Join(reasons, " ")
	return e
}
