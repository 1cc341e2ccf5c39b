// Package dates parses the calendar dates clients send (YYYY-MM-DD) within
// the range the platform accepts, for domain code and HTTP handlers alike.
package dates

import (
	"strconv"
	"time"
)

// The years accepted: far enough for a birth date and a booking horizon,
// near enough that date arithmetic and the databases' DATE/DATETIME ranges
// never overflow.
const (
	MinYear = 1900
	MaxYear = 2200
)

// Error is a message fit for a client.
type Error string

func (e Error) Error() string { return string(e) }

// Parse parses YYYY-MM-DD between MinYear and MaxYear, at midnight in loc.
func Parse(v string, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, Error("Enter a valid date in the format YYYY-MM-DD.")
	}
	if err := InRange(d); err != nil {
		return time.Time{}, err
	}
	return d, nil
}

// InRange refuses a time outside the years the platform accepts.
func InRange(t time.Time) error {
	if y := t.Year(); y < MinYear || y > MaxYear {
		return Error("Enter a date between " + strconv.Itoa(MinYear) + " and " + strconv.Itoa(MaxYear) + ".")
	}
	return nil
}
