package laboratory

import (
	"testing"
	"time"

	"hospital/lib/apperr"
)

func fl(v float64) *float64 { return &v }
func in(v int) *int         { return &v }

var hemoglobin = AnalyteTemplate{Unit: "g/dL",
	Ranges:      Ranges{MaleMin: fl(13.5), MaleMax: fl(17.5), FemaleMin: fl(12.0), FemaleMax: fl(15.5)},
	CriticalMin: fl(7.0), CriticalMax: fl(20.0),
	AgeBands: []AgeBand{{MinAgeYears: 0, MaxAgeYears: in(12), Ranges: Ranges{Min: fl(11.0), Max: fl(14.5)}}},
}

func flagOf(r AnalyteResult) string {
	if r.Flag == nil {
		return "none"
	}
	return *r.Flag
}

func TestJudgePicksTheRangeForSexAndAge(t *testing.T) {
	age := func(a int) *int { return &a }
	cases := []struct {
		name      string
		s         Subject
		value     float64
		flag      string
		low, high float64
		basis     string
		noted     bool
	}{
		{"man, high", Subject{"M", age(46)}, 17.9, FlagHigh, 13.5, 17.5, "male", false},
		{"woman, same value normal", Subject{"F", age(36)}, 15.0, FlagNormal, 12.0, 15.5, "female", false},
		{"woman, low", Subject{"F", age(36)}, 11.9, FlagLow, 12.0, 15.5, "female", false},
		{"upper limit is normal", Subject{"M", age(46)}, 17.5, FlagNormal, 13.5, 17.5, "male", false},
		{"child's band, either sex", Subject{"F", age(7)}, 15.0, FlagHigh, 11.0, 14.5, "any sex, 0-11 years", false},
		{"twelve is past the band", Subject{"F", age(12)}, 15.0, FlagNormal, 12.0, 15.5, "female", false},
		{"critical low beats any range", Subject{"M", age(46)}, 6.9, FlagCriticalLow, 13.5, 17.5, "male", false},
		{"critical high", Subject{"F", age(36)}, 20.1, FlagCriticalHigh, 12.0, 15.5, "female", false},
	}
	for _, c := range cases {
		r := judge(hemoglobin, c.s, c.value, "hemoglobin")
		if flagOf(r) != c.flag || r.ReferenceRange == nil || *r.ReferenceRange.Low != c.low || *r.ReferenceRange.High != c.high ||
			r.ReferenceRange.Basis != c.basis || (r.Note != "") != c.noted {
			t.Errorf("%s: flag %s range %+v note %q", c.name, flagOf(r), r.ReferenceRange, r.Note)
		}
		if abnormal := c.flag != FlagNormal; r.IsAbnormal == nil || *r.IsAbnormal != abnormal {
			t.Errorf("%s: is_abnormal %v", c.name, r.IsAbnormal)
		}
	}
}

// Without the sex (or, where bands exist, the age) the service does not
// guess a range: no flag, a note saying why; critical limits still hold.
func TestJudgeSaysWhatItCannotKnow(t *testing.T) {
	r := judge(hemoglobin, Subject{Sex: "", Age: in(40)}, 19.0, "hemoglobin")
	if r.Flag != nil || r.IsAbnormal != nil || r.Note == "" || r.ReferenceRange == nil ||
		r.ReferenceRange.Low != nil || r.ReferenceRange.Basis != "critical limits only" {
		t.Fatalf("unknown sex: %+v %+v", r, r.ReferenceRange)
	}
	r = judge(hemoglobin, Subject{Sex: "", Age: in(40)}, 21.0, "hemoglobin")
	if flagOf(r) != FlagCriticalHigh || r.IsAbnormal == nil || !*r.IsAbnormal {
		t.Fatalf("unknown sex, critical value: %+v", r)
	}
	r = judge(hemoglobin, Subject{Sex: "M"}, 15.0, "hemoglobin")
	if r.Flag != nil || r.Note == "" {
		t.Fatalf("unknown age where bands exist: %+v", r)
	}
	glucose := AnalyteTemplate{Unit: "mmol/L", Ranges: Ranges{Min: fl(3.9), Max: fl(5.5)}}
	r = judge(glucose, Subject{}, 6.1, "glucose")
	if flagOf(r) != FlagHigh || r.ReferenceRange.Basis != "any sex" || r.Note != "" {
		t.Fatalf("one range for everyone needs neither: %+v", r)
	}
	r = judge(AnalyteTemplate{Unit: "U/L"}, Subject{Sex: "M", Age: in(30)}, 6.1, "alt")
	if r.Flag != nil || r.ReferenceRange != nil || r.Note == "" {
		t.Fatalf("no range in the catalog: %+v", r)
	}
}

func TestAssessSumsUpTheItemAndIgnoresTheClientsFlag(t *testing.T) {
	tmpl := map[string]AnalyteTemplate{"hemoglobin": hemoglobin,
		"hematocrit": {Unit: "%", Ranges: Ranges{MaleMin: fl(41), MaleMax: fl(53), FemaleMin: fl(36), FemaleMax: fl(46)}}}
	no := false
	man := Subject{"M", in(46)}
	vals, abnormal, critical, notes, err := assess("CBC", tmpl, map[string]AnalyteInput{
		"hemoglobin": {Value: fl(19.2), IsAbnormal: &no}, "hematocrit": {Value: fl(45), Unit: "%"}}, man)
	if err != nil || abnormal == nil || !*abnormal || critical || len(notes) != 0 || flagOf(vals["hemoglobin"]) != FlagHigh {
		t.Fatalf("%v %v %v %v %+v", err, abnormal, critical, notes, vals)
	}
	_, abnormal, _, _, _ = assess("CBC", tmpl, map[string]AnalyteInput{"hemoglobin": {Value: fl(15)}, "hematocrit": {Value: fl(45)}}, man)
	if abnormal == nil || *abnormal {
		t.Fatalf("all normal: %v", abnormal)
	}
	_, abnormal, _, notes, _ = assess("CBC", tmpl, map[string]AnalyteInput{"hemoglobin": {Value: fl(15)}}, Subject{Age: in(46)})
	if abnormal != nil || len(notes) != 1 {
		t.Fatalf("undetermined: %v %v", abnormal, notes)
	}
	_, _, critical, _, _ = assess("CBC", tmpl, map[string]AnalyteInput{"hemoglobin": {Value: fl(5)}}, Subject{})
	if !critical {
		t.Fatal("a critical value without sex or age is still critical")
	}
	for name, bad := range map[string]map[string]AnalyteInput{
		"unknown analyte": {"platelets": {Value: fl(200)}},
		"other unit":      {"hemoglobin": {Value: fl(150), Unit: "g/L"}},
	} {
		_, _, _, _, err := assess("CBC", tmpl, bad, man)
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindInvalid || len(e.Fields) != 1 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAgeCountsWholeYearsOnTheClinicsCalendar(t *testing.T) {
	dob := time.Date(1980, 3, 15, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		day  time.Time
		want int
	}{
		{time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), 45},
		{time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), 46},
		{time.Date(1980, 3, 15, 0, 0, 0, 0, time.UTC), 0},
	} {
		if got, ok := ageOn(dob, c.day); !ok || got != c.want {
			t.Errorf("on %s: %d %v", c.day.Format(time.DateOnly), got, ok)
		}
	}
	if _, ok := ageOn(dob, time.Date(1979, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Fatal("born after the day: no age")
	}
	s := subjectOf(Order{PatientSex: "X", PatientDateOfBirth: "15/03/1980"}, time.Now())
	if s.Sex != "" || s.Age != nil {
		t.Fatalf("unreadable sex and date of birth are unknown: %+v", s)
	}
}

func TestTemplatesThatContradictThemselvesAreRefused(t *testing.T) {
	for name, tmpl := range map[string]AnalyteTemplate{
		"min above max":       {Unit: "g/dL", Ranges: Ranges{MaleMin: fl(18), MaleMax: fl(13)}},
		"critical inverted":   {Unit: "g/dL", CriticalMin: fl(20), CriticalMax: fl(7)},
		"band ends too soon":  {Unit: "g/dL", AgeBands: []AgeBand{{MinAgeYears: 12, MaxAgeYears: in(12), Ranges: Ranges{Min: fl(1)}}}},
		"band without limits": {Unit: "g/dL", AgeBands: []AgeBand{{MinAgeYears: 0, MaxAgeYears: in(12)}}},
		"overlapping bands": {Unit: "g/dL", AgeBands: []AgeBand{{MinAgeYears: 0, MaxAgeYears: in(12), Ranges: Ranges{Min: fl(1)}},
			{MinAgeYears: 10, Ranges: Ranges{Min: fl(1)}}}},
	} {
		if err := checkTemplate(map[string]AnalyteTemplate{"x": tmpl}); !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := checkTemplate(map[string]AnalyteTemplate{"hemoglobin": hemoglobin}); err != nil {
		t.Fatal(err)
	}
	if err := checkTemplate(map[string]AnalyteTemplate{"a.b": {Unit: "x"}}); err == nil {
		t.Fatal("a dotted analyte name would be a path in the document")
	}
}
