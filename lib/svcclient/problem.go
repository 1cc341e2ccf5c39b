package svcclient

import (
	"errors"

	"hospital/lib/httpx"
	"hospital/lib/problem"
)

func init() {
	// A handler that returns an UnavailableError answers 503 + Retry-After.
	httpx.RegisterErrorMapper(func(err error) *problem.Problem {
		var ue *UnavailableError
		if errors.As(err, &ue) {
			return problem.Unavailable("A service this request needs is unavailable; try again shortly.", ue.RetryAfter)
		}
		return nil
	})
}
