package records

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/dates"
)

// The clinical plausibility rules a tag cannot say.

// icdCode is an ICD-10 code: a letter, two characters (digits, or a digit
// and a letter as in ICD-10-CM's C4A), and up to four more after a dot.
var icdCode = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)

// normalICD upper-cases and checks an ICD-10 code.
func normalICD(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if !icdCode.MatchString(c) {
		return "", apperr.Field("icd_code", "Enter an ICD-10 code such as R51 or J45.909.")
	}
	return c, nil
}

// BloodTypes are the accepted blood types ("" is unknown).
var BloodTypes = []string{"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"}

func checkBloodType(bt string) error {
	if bt != "" && !slices.Contains(BloodTypes, bt) {
		return apperr.Field("blood_type", "Must be one of: "+strings.Join(BloodTypes, ", ")+" (or empty when unknown).")
	}
	return nil
}

// Vital sign bounds: beyond them a value is a typing error, not a patient.
const (
	minSystolic, maxSystolic   = 50, 300
	minDiastolic, maxDiastolic = 20, 200
)

var bloodPressure = regexp.MustCompile(`^([0-9]{2,3})/([0-9]{2,3})$`)

// checkBloodPressure accepts "systolic/diastolic" in mmHg, systolic above
// diastolic.
func checkBloodPressure(bp string) error {
	m := bloodPressure.FindStringSubmatch(bp)
	if m == nil {
		return apperr.Field("blood_pressure", `Enter "systolic/diastolic" in mmHg, e.g. "120/80".`)
	}
	sys, _ := strconv.Atoi(m[1])
	dia, _ := strconv.Atoi(m[2])
	switch {
	case sys < minSystolic || sys > maxSystolic:
		return apperr.Field("blood_pressure", "The systolic pressure must be between 50 and 300 mmHg.")
	case dia < minDiastolic || dia > maxDiastolic:
		return apperr.Field("blood_pressure", "The diastolic pressure must be between 20 and 200 mmHg.")
	case sys <= dia:
		return apperr.Field("blood_pressure", "The systolic pressure must be higher than the diastolic.")
	}
	return nil
}

// clockSkew is how far in the future a client's timestamp may be: its
// clock may run a little ahead of ours.
const clockSkew = 2 * time.Minute

// pastTime checks a clinical timestamp: not in the future, not before 1900.
func pastTime(field string, t, now time.Time) (time.Time, error) {
	t = t.UTC().Truncate(time.Millisecond)
	if t.After(now.Add(clockSkew)) {
		return t, apperr.Field(field, "Cannot be in the future.")
	}
	if err := dates.InRange(t); err != nil {
		return t, apperr.Field(field, err.Error())
	}
	return t, nil
}

// cleanList trims the entries of a list, drops empty ones and repeats
// (case-insensitively), keeping the first spelling and the order.
func cleanList(in []string) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		k := strings.ToLower(s)
		if s == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

// maxReason bounds a break-the-glass reason (characters).
const maxReason = 500

// checkReason validates a break-the-glass reason.
func checkReason(reason string, min int) (string, error) {
	r := strings.TrimSpace(reason)
	n := len([]rune(r))
	if n < min || n > maxReason {
		return "", apperr.Field(BreakGlassHeader, "Give the reason for breaking the glass in "+strconv.Itoa(min)+" to "+strconv.Itoa(maxReason)+" characters.")
	}
	return r, nil
}

// checkYear refuses a time outside the years the platform accepts.
func checkYear(field string, t time.Time) error {
	if err := dates.InRange(t); err != nil {
		return apperr.Field(field, err.Error())
	}
	return nil
}
