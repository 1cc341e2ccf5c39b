package invoicing

import (
	"fmt"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/shopspring/decimal"

	"hospital/lib/apperr"
)

// Money is an amount as the spec's DecimalField: two decimals, a JSON
// string ("150000.00").
type Money struct{ decimal.Decimal }

// M wraps d.
func M(d decimal.Decimal) Money { return Money{d.Round(2)} }

// Zero is no money.
var Zero = Money{decimal.Zero}

func (m Money) String() string { return m.StringFixed(2) }

// MarshalJSON writes the fixed two-decimal string.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.StringFixed(2) + `"`), nil }

// UnmarshalJSON reads a decimal string or number (stored idempotent answers).
func (m *Money) UnmarshalJSON(b []byte) error {
	return m.Decimal.UnmarshalJSON(b)
}

// OpenAPISchema documents Money as a decimal string.
func (Money) OpenAPISchema() *openapi3.Schema {
	s := openapi3.NewStringSchema().WithPattern(`^-?[0-9]+\.[0-9]{2}$`)
	s.Example = "150000.00"
	return s
}

func (m Money) Add(o Money) Money { return Money{m.Decimal.Add(o.Decimal)} }
func (m Money) Sub(o Money) Money { return Money{m.Decimal.Sub(o.Decimal)} }

// maxAmount bounds every amount to what DECIMAL(14,2) holds.
var maxAmount = decimal.RequireFromString("999999999999.99")

// parseMoney reads a client's decimal string for field: at most two
// decimals, not negative (positive when positive is set), within range.
func parseMoney(field, s string, positive bool) (Money, error) {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	switch {
	case err != nil || strings.ContainsAny(s, "eE"):
		return Zero, apperr.Field(field, "A valid decimal number is required, e.g. \"150000.00\".")
	case d.Exponent() < -2 && !d.Equal(d.Round(2)):
		return Zero, apperr.Field(field, "Ensure that there are no more than 2 decimal places.")
	case d.IsNegative() || (positive && d.IsZero()):
		if positive {
			return Zero, apperr.Field(field, "Ensure this value is greater than 0.")
		}
		return Zero, apperr.Field(field, "Ensure this value is greater than or equal to 0.")
	case d.GreaterThan(maxAmount):
		return Zero, apperr.Field(field, "Ensure this value is less than or equal to "+maxAmount.String()+".")
	}
	return M(d), nil
}

// Currency is what cards are charged in: its ISO code and how many minor
// units the gateway counts per unit (VND has none).
type Currency struct {
	Code     string
	Exponent int32
}

// CurrencyFor knows the currencies the hospital may bill in.
func CurrencyFor(code string) (Currency, error) {
	switch c := strings.ToLower(code); c {
	case "vnd", "jpy", "krw":
		return Currency{Code: c, Exponent: 0}, nil
	case "usd", "eur", "sgd", "gbp", "aud":
		return Currency{Code: c, Exponent: 2}, nil
	default:
		return Currency{}, fmt.Errorf("unknown currency %q", code)
	}
}

// MinorUnits is m in the currency's smallest unit, or an error when m has
// more decimals than the currency (a VND card payment of "10.50").
func (c Currency) MinorUnits(m Money) (int64, error) {
	u := m.Shift(c.Exponent)
	if !u.IsInteger() {
		return 0, fmt.Errorf("%s has no fractions below %d decimals", strings.ToUpper(c.Code), c.Exponent)
	}
	return u.IntPart(), nil
}

// Date is a clinic day, "YYYY-MM-DD" in JSON.
type Date struct{ time.Time }

// DateOf is the day of t (its year, month and day as they are).
func DateOf(t time.Time) Date {
	return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

func (d Date) String() string { return d.Format(time.DateOnly) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD" (stored idempotent answers).
func (d *Date) UnmarshalJSON(b []byte) error {
	t, err := time.Parse(`"`+time.DateOnly+`"`, string(b))
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

// OpenAPISchema documents Date as a date string.
func (Date) OpenAPISchema() *openapi3.Schema { return openapi3.NewStringSchema().WithFormat("date") }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Time.Before(o.Time) }

// AddDays is d moved by n days.
func (d Date) AddDays(n int) Date { return Date{d.AddDate(0, 0, n)} }

// withinRange refuses amounts a DECIMAL(14,2) column cannot hold (a sum
// of lines each within range can still overflow).
func withinRange(field string, amounts ...Money) error {
	for _, m := range amounts {
		if m.GreaterThan(maxAmount) {
			return apperr.Field(field, "The amounts add up to more than "+maxAmount.String()+".")
		}
	}
	return nil
}

// maxQuantity bounds an invoice line's quantity.
var maxQuantity = decimal.NewFromInt(100000)
