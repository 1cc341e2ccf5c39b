package svcclient

import (
	"errors"
	"net/http"
	"time"

	"hospital/lib/apperr"
)

// HasStatus reports whether err is a non-2xx answer with one of codes.
func HasStatus(err error, codes ...int) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Status == c {
			return true
		}
	}
	return false
}

// Refused maps the answers a typed client does not expect to what its
// caller should tell its own client: our credentials refused (401/403: an
// operator must fix a secret or an allow-list) or the callee failing (5xx)
// are "unavailable, retry later"; anything else passes through unchanged.
func Refused(service string, err error) error {
	var se *StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
		return errors.Join(err, apperr.Unavailable("The "+service+" service refused this service's credentials; an operator has been alerted.", 30*time.Second))
	case se.Status >= 500:
		return errors.Join(err, apperr.Unavailable("The "+service+" service is failing; try again shortly.", 5*time.Second))
	}
	return err
}
