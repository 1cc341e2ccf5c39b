package svcclient

import "hospital/lib/apperr"

// As lets errors.As find an *apperr.Error in an UnavailableError, so a
// handler that returns it answers 503 with Retry-After.
func (e *UnavailableError) As(target any) bool {
	if t, ok := target.(**apperr.Error); ok {
		*t = apperr.Unavailable("A service this request needs is unavailable; try again shortly.", e.RetryAfter)
		return true
	}
	return false
}
