package accounts

import (
	"fmt"
	"time"

	"hospital/lib/apperr"
)

// The domain's answers. An *apperr.Error is never changed once built, so
// these are shared safely; lib/problem maps them to problem+json.
var (
	errBadCredentials  = apperr.Unauthenticated("No active account found with the given credentials.")
	errBadToken        = apperr.Unauthenticated("Token is invalid or expired.")
	errUserNotFound    = apperr.NotFound("User not found.")
	errNoUser          = apperr.Unauthenticated("User not found.")
	errInactive        = apperr.Unauthenticated("User is inactive.")
	errNotAUser        = apperr.Forbidden("This endpoint is for user accounts.")
	errNotAdmin        = apperr.Forbidden("You do not have permission to perform this action.")
	errStaffRole       = apperr.Forbidden("Only patient accounts can be registered here; staff accounts are created by an administrator.")
	errRoleRequired    = apperr.Field("role_name", "This field is required.")
	errBadResetToken   = apperr.Field("token", "The password reset link is invalid or has expired.")
	errBadOldPassword  = apperr.Field("old_password", "Your old password was entered incorrectly. Please enter it again.")
	errSelfDeactivate  = apperr.Invalid("You cannot deactivate your own account.")
	errBadServiceCreds = apperr.Unauthenticated("Invalid service credentials.")
	errTakenGeneric    = apperr.Invalid("A user with these details already exists.")
)

// Messages shared by several answers.
const (
	msgResetSent = "If an account with this email exists, a password reset link has been sent to it."
	msgBadPhone  = "Enter a valid phone number: 7 to 15 digits, optionally starting with +."
	msgLocked    = "Too many failed login attempts. Try again later."
)

func lockedError(retryAfter time.Duration) error {
	return apperr.TooManyRequests(msgLocked, retryAfter)
}

func badChoice(field, value string) error {
	return apperr.Field(field, fmt.Sprintf("%q is not a valid choice.", value))
}

var takenMessages = map[string]string{
	"username":     "A user with that username already exists.",
	"email":        "A user with that email already exists.",
	"phone_number": "A user with that phone number already exists.",
}

func takenError(taken map[string]bool) error {
	errs := map[string][]string{}
	for f := range taken {
		msg, ok := takenMessages[f]
		if !ok {
			return errTakenGeneric
		}
		errs[f] = []string{msg}
	}
	return apperr.Validation(errs)
}
