package dispensing

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/shopspring/decimal"

	"hospital/lib/apperr"
)

// Money is an amount with two decimals, a JSON string ("1000.00"): the
// spec's Mongo examples show numbers, which cannot carry a price exactly.
// The store keeps it as the same string.
type Money struct{ decimal.Decimal }

// ZeroMoney is no money.
var ZeroMoney = Money{decimal.Zero}

func (m Money) String() string { return m.StringFixed(2) }

// MarshalJSON writes the fixed two-decimal string.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.StringFixed(2) + `"`), nil }

// UnmarshalJSON reads a decimal string or number.
func (m *Money) UnmarshalJSON(b []byte) error { return m.Decimal.UnmarshalJSON(b) }

// OpenAPISchema documents Money as a decimal string.
func (Money) OpenAPISchema() *openapi3.Schema {
	s := openapi3.NewStringSchema().WithPattern(`^-?[0-9]+\.[0-9]{2}$`)
	s.Example = "1000.00"
	return s
}

// Times is m × n.
func (m Money) Times(n int64) Money { return Money{m.Mul(decimal.NewFromInt(n)).Round(2)} }

// Plus is m + o.
func (m Money) Plus(o Money) Money { return Money{m.Add(o.Decimal)} }

// maxPrice bounds a unit price.
var maxPrice = decimal.RequireFromString("999999999.99")

// ParseMoney reads a client's decimal string for field: at most two
// decimals, not negative, within range.
func ParseMoney(field, s string) (Money, error) {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	switch {
	case err != nil || strings.ContainsAny(s, "eE"):
		return ZeroMoney, apperr.Field(field, "A valid decimal number is required, e.g. \"1000.00\".")
	case !d.Equal(d.Round(2)):
		return ZeroMoney, apperr.Field(field, "Ensure that there are no more than 2 decimal places.")
	case d.IsNegative():
		return ZeroMoney, apperr.Field(field, "Ensure this value is greater than or equal to 0.")
	case d.GreaterThan(maxPrice):
		return ZeroMoney, apperr.Field(field, "Ensure this value is less than or equal to "+maxPrice.String()+".")
	}
	return Money{d.Round(2)}, nil
}
