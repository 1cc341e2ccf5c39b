package laboratory

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"hospital/lib/apperr"
)

// Subject is what reference ranges depend on: the patient's sex ("M", "F"
// or "" when unknown) and age in whole years (nil when the date of birth
// is unknown).
type Subject struct {
	Sex string
	Age *int
}

// subjectOf is the patient of o on day (the clinic's date of the result).
func subjectOf(o Order, day time.Time) Subject {
	s := Subject{}
	if o.PatientSex == "M" || o.PatientSex == "F" {
		s.Sex = o.PatientSex
	}
	if dob, err := time.Parse(time.DateOnly, o.PatientDateOfBirth); err == nil {
		if a, ok := ageOn(dob, day); ok {
			s.Age = &a
		}
	}
	return s
}

// ageOn is the age in whole years on day of someone born on dob; not ok
// when dob is after day (a wrong date of birth is no age at all).
func ageOn(dob, day time.Time) (int, bool) {
	y := day.Year() - dob.Year()
	if day.Month() < dob.Month() || (day.Month() == dob.Month() && day.Day() < dob.Day()) {
		y--
	}
	return y, y >= 0
}

// judge computes an analyte's reference range and flag for s. It never
// guesses: when the range depends on a sex or an age that is unknown, no
// range is given (critical limits still apply) and Note says why.
func judge(t AnalyteTemplate, s Subject, value float64, name string) AnalyteResult {
	out := AnalyteResult{Value: value, Unit: t.Unit}
	ranges, ageBasis, note := t.Ranges, "", ""
	if len(t.AgeBands) > 0 {
		if s.Age == nil {
			note = "The patient's date of birth is not recorded and " + name + "'s range depends on age: no range applied."
		} else if b, ok := bandFor(t.AgeBands, *s.Age); ok {
			ranges, ageBasis = b.Ranges, ageText(b)
		}
	}
	var low, high *float64
	sexBasis := ""
	if note == "" {
		var sexNote string
		low, high, sexBasis, sexNote = bySex(ranges, s.Sex, name)
		note = sexNote
		if note == "" && low == nil && high == nil {
			note = "The catalog gives no range of " + name + " for this patient."
		}
	}
	known := low != nil || high != nil
	if known || t.CriticalMin != nil || t.CriticalMax != nil {
		basis := sexBasis
		if ageBasis != "" {
			basis += ", " + ageBasis
		}
		if !known {
			basis = "critical limits only"
		}
		out.ReferenceRange = &ReferenceRange{Low: low, High: high, CriticalLow: t.CriticalMin, CriticalHigh: t.CriticalMax, Basis: basis}
	}
	var flag string
	switch {
	case t.CriticalMin != nil && value < *t.CriticalMin:
		flag = FlagCriticalLow
	case t.CriticalMax != nil && value > *t.CriticalMax:
		flag = FlagCriticalHigh
	case !known:
	case low != nil && value < *low:
		flag = FlagLow
	case high != nil && value > *high:
		flag = FlagHigh
	default:
		flag = FlagNormal
	}
	if flag != "" {
		abnormal := flag != FlagNormal
		out.Flag, out.IsAbnormal = &flag, &abnormal
	}
	if !known {
		out.Note = note
	}
	return out
}

// bySex picks the limits for sex: its own when the template has them, else
// the limits for either sex. With sex-specific limits and no min/max, an
// unknown sex has no range.
func bySex(r Ranges, sex, name string) (low, high *float64, basis, note string) {
	specific := r.MaleMin != nil || r.MaleMax != nil || r.FemaleMin != nil || r.FemaleMax != nil
	switch {
	case specific && sex == "M" && (r.MaleMin != nil || r.MaleMax != nil):
		return r.MaleMin, r.MaleMax, "male", ""
	case specific && sex == "F" && (r.FemaleMin != nil || r.FemaleMax != nil):
		return r.FemaleMin, r.FemaleMax, "female", ""
	case r.Min != nil || r.Max != nil:
		return r.Min, r.Max, "any sex", ""
	case specific && sex == "":
		return nil, nil, "", "The patient's sex is not recorded and " + name + "'s range depends on sex: no range applied."
	}
	return nil, nil, "", ""
}

func bandFor(bands []AgeBand, age int) (AgeBand, bool) {
	for _, b := range bands {
		if age >= b.MinAgeYears && (b.MaxAgeYears == nil || age < *b.MaxAgeYears) {
			return b, true
		}
	}
	return AgeBand{}, false
}

func ageText(b AgeBand) string {
	if b.MaxAgeYears == nil {
		return strconv.Itoa(b.MinAgeYears) + " years and over"
	}
	return fmt.Sprintf("%d-%d years", b.MinAgeYears, *b.MaxAgeYears-1)
}

// assess judges every value given against the test's template and sums up
// the item: abnormal if any value is, normal only if every value is
// judged normal.
func assess(code string, template map[string]AnalyteTemplate, in map[string]AnalyteInput, s Subject) (map[string]AnalyteResult, *bool, bool, []string, error) {
	fields := map[string][]string{}
	out := make(map[string]AnalyteResult, len(in))
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	slices.Sort(names)
	var notes []string
	abnormal, undetermined, critical := false, len(in) == 0, false
	for _, name := range names {
		v := in[name]
		t, ok := template[name]
		if !ok {
			fields["result_values."+name] = []string{"Not an analyte of " + code + " (its analytes: " + strings.Join(analytes(template), ", ") + ")."}
			continue
		}
		if v.Unit != "" && !strings.EqualFold(strings.TrimSpace(v.Unit), t.Unit) {
			fields["result_values."+name+".unit"] = []string{"The catalog records " + name + " in " + t.Unit + "; give the value in that unit."}
			continue
		}
		if math.IsInf(*v.Value, 0) || math.IsNaN(*v.Value) {
			fields["result_values."+name+".value"] = []string{"A finite number is required."}
			continue
		}
		r := judge(t, s, *v.Value, name)
		out[name] = r
		switch {
		case r.Flag == nil:
			undetermined = true
		case *r.Flag != FlagNormal:
			abnormal = true
			critical = critical || *r.Flag == FlagCriticalLow || *r.Flag == FlagCriticalHigh
		}
		if r.Note != "" && !slices.Contains(notes, r.Note) {
			notes = append(notes, r.Note)
		}
	}
	if len(fields) > 0 {
		return nil, nil, false, nil, apperr.Validation(fields)
	}
	var isAbnormal *bool
	if abnormal || !undetermined {
		isAbnormal = &abnormal
	}
	if notes == nil {
		notes = []string{}
	}
	return out, isAbnormal, critical, notes, nil
}

func analytes(t map[string]AnalyteTemplate) []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return []string{"none: report it in interpretation or a result file"}
	}
	return out
}

// checkTemplate refuses a template whose limits contradict each other.
func checkTemplate(t map[string]AnalyteTemplate) error {
	fields := map[string][]string{}
	bad := func(f, msg string) { fields[f] = append(fields[f], msg) }
	for name, a := range t {
		f := "normal_ranges_template." + name
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, ".$") {
			bad(f, "An analyte name may not be blank or contain '.' or '$'.")
		}
		checkRanges(f, a.Ranges, bad)
		if a.CriticalMin != nil && a.CriticalMax != nil && *a.CriticalMin >= *a.CriticalMax {
			bad(f+".critical_min", "Must be below critical_max.")
		}
		for i, b := range a.AgeBands {
			bf := fmt.Sprintf("%s.age_bands[%d]", f, i)
			if b.MaxAgeYears != nil && *b.MaxAgeYears <= b.MinAgeYears {
				bad(bf+".max_age_years", "Must be above min_age_years.")
			}
			if b.MaleMin == nil && b.MaleMax == nil && b.FemaleMin == nil && b.FemaleMax == nil && b.Min == nil && b.Max == nil {
				bad(bf, "An age band needs at least one limit.")
			}
			checkRanges(bf, b.Ranges, bad)
			for j, o := range a.AgeBands[:i] {
				if overlap(b, o) {
					bad(bf, fmt.Sprintf("Overlaps age_bands[%d].", j))
				}
			}
		}
	}
	if len(fields) > 0 {
		return apperr.Validation(fields)
	}
	return nil
}

func checkRanges(f string, r Ranges, bad func(f, msg string)) {
	for _, p := range []struct {
		lo, hi *float64
		name   string
	}{{r.MaleMin, r.MaleMax, "male"}, {r.FemaleMin, r.FemaleMax, "female"}, {r.Min, r.Max, ""}} {
		if p.lo != nil && p.hi != nil && *p.lo > *p.hi {
			name := strings.TrimPrefix(p.name+"_min", "_")
			bad(f+"."+name, "Must not be above the matching maximum.")
		}
	}
}

func overlap(a, b AgeBand) bool {
	end := func(x AgeBand) int {
		if x.MaxAgeYears == nil {
			return math.MaxInt
		}
		return *x.MaxAgeYears
	}
	return a.MinAgeYears < end(b) && b.MinAgeYears < end(a)
}
