package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// The plausible values of the fuzz suite: what a request the services
// accept looks like, so that one mutation at a time reaches the code
// behind decoding and validation.

// Names of fields and parameters the schema types only as strings, with
// what the platform's conventions make of them.
var (
	moneyName = regexp.MustCompile(`price|amount|fee|cost|tax|discount`)
	timeName  = regexp.MustCompile(`date|since|until|after|before|valid_from|valid_to|_from$|_to$`)
)

// valid is a plausible value for schema s of the field called name: an id
// of ids named after the field (see pathID) when there is one, otherwise
// one built from the schema and the field's name.
func valid(s *openapi3.Schema, name string, ids []string, depth int) any {
	if s == nil {
		return "x"
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if id, ok := namedID(name, ids); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && s.Type.Is("integer") {
			return n
		}
		if s.Type.Is("string") {
			return id
		}
	}
	switch {
	case s.Type.Is("object"), len(s.Type.Slice()) == 0 && s.Format == "":
		// An untyped schema is a request without fields (api.NoBody).
		out := map[string]any{}
		if depth > 4 {
			return out
		}
		for name, p := range s.Properties {
			if p.Value != nil && !p.Value.ReadOnly {
				out[name] = valid(p.Value, name, ids, depth+1)
			}
		}
		return out
	case s.Type.Is("array"):
		if s.Items == nil || depth > 4 {
			return []any{}
		}
		return []any{valid(s.Items.Value, name, ids, depth+1)}
	case s.Type.Is("integer"):
		if s.Min != nil {
			return int64(*s.Min) + 1
		}
		return 1
	case s.Type.Is("number"):
		return 1.5
	case s.Type.Is("boolean"):
		return true
	}
	switch s.Format {
	case "date":
		return time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	case "date-time":
		return time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	case "email":
		return "fuzz@fuzz.test"
	}
	v := stringByName(name, s.MaxLength)
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	if s.MinLength > uint64(len(v)) {
		v += strings.Repeat("z", int(s.MinLength)-len(v))
	}
	return v
}

// stringByName is a plausible string for a field the schema says only is
// a string (of at most max characters), from its name.
func stringByName(name string, max *uint64) string {
	short := max != nil && *max <= 8
	switch n := strings.ToLower(name); {
	case moneyName.MatchString(n):
		return "100.00"
	case strings.HasSuffix(n, "_time") && short: // a time of day
		if strings.HasPrefix(n, "start") {
			return "08:00"
		}
		return "17:00"
	case strings.HasSuffix(n, "_time"): // a time in the clinic's hours
		return clinicSlot(3, 10, 0)
	case strings.Contains(n, "birth"):
		return "1990-01-02"
	case timeName.MatchString(n):
		return time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	case strings.Contains(n, "email"):
		return "fuzz@fuzz.test"
	case strings.Contains(n, "phone"):
		return "+84901234567"
	case n == "language":
		return "vi"
	}
	return "Fuzz1-value"
}

// validParam is a plausible value for a path, query or header parameter.
func validParam(p *openapi3.Parameter, ids []string, rng *rand.Rand) string {
	var s *openapi3.Schema
	if p.Schema != nil {
		s = p.Schema.Value
	}
	switch {
	case p.In == openapi3.ParameterInPath:
		return pathID(p.Name, s != nil && s.Type.Is("integer"), ids, rng)
	case p.In == openapi3.ParameterInHeader && strings.EqualFold(p.Name, "Idempotency-Key"):
		return fmt.Sprintf("fuzz-%016x", rng.Uint64())
	case s != nil && len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[0])
	case s != nil && s.Type.Is("integer"), s == nil && strings.HasPrefix(p.Name, "page"):
		return "1"
	case (s == nil || s.Format == "" && s.Type.Is("string")) && timeName.MatchString(p.Name):
		return time.Now().Format(time.DateOnly)
	case s != nil && s.Format == "date":
		return time.Now().Format(time.DateOnly)
	case s != nil && s.Format == "date-time":
		return time.Now().UTC().Format(time.RFC3339)
	case p.In == openapi3.ParameterInHeader:
		return "Fuzz value"
	}
	return "a"
}

// pathID picks a value for the path parameter name from ids. An id
// written "name=value" is for that parameter only, and when there is one
// only those are chosen (the object exists: the request gets past the 404;
// the mutations send the wrong ones); otherwise a plain id of the
// parameter's kind (a number for an integer, anything else for a string),
// or "1" or "fuzz" when ids hold none.
func pathID(name string, integer bool, ids []string, rng *rand.Rand) string {
	var own, plain []string
	for _, id := range ids {
		if k, v, ok := strings.Cut(id, "="); ok {
			if k == name {
				own = append(own, v)
			}
			continue
		}
		if _, err := strconv.ParseInt(id, 10, 64); (err == nil) == integer {
			plain = append(plain, id)
		}
	}
	switch {
	case len(own) > 0:
		return own[rng.IntN(len(own))]
	case len(plain) > 0:
		return plain[rng.IntN(len(plain))]
	case integer:
		return "1"
	}
	return "fuzz"
}

// namedID is the first id of ids named name ("name=value").
func namedID(name string, ids []string) (string, bool) {
	for _, id := range ids {
		if k, v, ok := strings.Cut(id, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// The plausible values name the objects the rig made: a path parameter
// takes only the ids named after it (plain ids of its kind otherwise), a
// body field the id named after it, at any depth; a field without fields
// is an empty object, a price a decimal.
func TestFuzzPlausibleValues(t *testing.T) {
	ids := []string{"1", "7", "abc", "order_id=6b0d", "patient_id=3", "medication_id=6b0e"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		if got := pathID("order_id", false, ids, rng); got != "6b0d" {
			t.Fatalf("order_id = %q, want the named id", got)
		}
		if got := pathID("user_id", true, ids, rng); got != "1" && got != "7" {
			t.Fatalf("user_id = %q, want a plain integer id", got)
		}
		if got := pathID("test_id", false, ids, rng); got != "abc" {
			t.Fatalf("test_id = %q, want the plain string id", got)
		}
	}
	if got := pathID("x", true, nil, rng); got != "1" {
		t.Errorf("integer without ids = %q", got)
	}
	item := openapi3.NewObjectSchema().WithProperty("medication_id", openapi3.NewStringSchema()).
		WithProperty("unit_price", openapi3.NewStringSchema().WithMaxLength(32))
	body := openapi3.NewObjectSchema().WithProperty("patient_id", openapi3.NewInt64Schema()).
		WithProperty("items", openapi3.NewArraySchema().WithItems(item)).
		WithProperty("confirm", &openapi3.Schema{})
	got, _ := json.Marshal(valid(body, "", ids, 0))
	want := `{"confirm":{},"items":[{"medication_id":"6b0e","unit_price":"100.00"}],"patient_id":3}`
	if string(got) != want {
		t.Errorf("plausible body %s, want %s", got, want)
	}
}
