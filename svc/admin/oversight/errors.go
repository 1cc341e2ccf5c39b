package oversight

import "hospital/lib/apperr"

var (
	errConfigNotFound  = apperr.NotFound("No such configuration: not set, and not one of the platform's documented keys.")
	errUnknownKey      = apperr.Field("key", "Unknown configuration key: not one of the platform's documented keys (see GET /api/v1/admin/system-configurations/), and not allowed by SYSTEM_CONFIG_EXTRA_KEYS.")
	errBadKeyName      = apperr.Field("key", "A key is lower case letters, digits and underscores, in dot-separated parts (\"billing.invoice_due_days\"), at most 100 characters.")
	errKeyMismatch     = apperr.Field("key", "Must be the key of the path, or left out.")
	errValueTooLarge   = apperr.Field("value", "At most 64 KiB of JSON.")
	errValueNotJSON    = apperr.Field("value", "Must be a JSON value.")
	errValueRequired   = apperr.Field("value", "This field is required (a JSON value other than null).")
	errTaskNotFound    = apperr.NotFound("No such task.")
	errTaskBusy        = apperr.Conflict("A report recalculation over other days is already pending or running; wait for it to finish (see its status).").WithCode("task_running")
	errRangeOrder      = apperr.Field("date_to", "Must not be before date_from.")
	errServiceMismatch = apperr.Field("service_name", "Must be the name of the calling service.")
)

// valueError is a value refused by its key's rules.
func valueError(msg string) error { return apperr.Field("value", msg) }
