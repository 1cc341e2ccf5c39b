package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"hospital/lib/api"
	"hospital/lib/audit"
	"hospital/lib/ehrapi"
	"hospital/lib/mongodb"
	"hospital/lib/testkit"
	"hospital/svc/ehr/httpapi"
	"hospital/svc/ehr/records"
	rt "hospital/svc/ehr/records/recordstest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

func TestREADMECarriesTheAPITable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
}

type rig struct {
	*rt.Env
	srv    *httptest.Server
	tokens map[string]string
	glass  map[string]bool
}

// The callers of the access matrix. Patient 1's record is the object:
// doctor 1 wrote its encounter and nurse 2 recorded vitals in it (care);
// doctor 2 and nurse 1 have no care relationship; doctor 3 and nurse 3
// break the glass.
var callers = []string{"anon", "patient1", "patient2", "doctor1", "doctor2", "doctor3+glass", "nurse1", "nurse2", "nurse3+glass",
	"admin", "pharmacist", "svc:appointment", "svc:pharmacy", "svc:lab", "svc:admin", "svc:notification"}

func newRig(t *testing.T) *rig {
	e := rt.New(t)
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{Verifier: e.Verifier()})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Env: e, srv: httptest.NewServer(h), tokens: map[string]string{}, glass: map[string]bool{}}
	t.Cleanup(r.srv.Close)
	users := map[string]int64{"patient1": e.Patient1, "patient2": e.Patient2, "doctor1": e.Doctor1, "doctor2": e.Doctor2,
		"doctor3+glass": e.Doctor3, "nurse1": e.Nurse1, "nurse2": e.Nurse2, "nurse3+glass": e.Nurse3, "admin": e.Admin, "pharmacist": e.Pharmacist}
	for _, c := range callers {
		switch {
		case c == "anon":
		case strings.HasPrefix(c, "svc:"):
			r.tokens[c] = e.Token(0, strings.TrimPrefix(c, "svc:"))
		default:
			r.tokens[c] = e.Token(users[c], "")
		}
		r.glass[c] = strings.HasSuffix(c, "+glass")
	}
	return r
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r *rig) do(t *testing.T, caller, method, path string, body any, header map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok := r.tokens[caller]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if r.glass[caller] {
		req.Header.Set(records.BreakGlassHeader, "Patient collapsed in the waiting room")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s as %s: %d without problem+json: %s", method, path, caller, resp.StatusCode, raw)
	}
	return out
}

func (r *rig) must(t *testing.T, what string, got reply, status int) reply {
	t.Helper()
	if got.status != status {
		t.Fatalf("%s: %d, want %d: %s", what, got.status, status, got.raw)
	}
	return got
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// Every route × every caller: who gets in (2xx), who is refused by role or
// by the record (403), and 401 without a token. Refusals on a patient's
// record are audited.
func TestAccessMatrix(t *testing.T) {
	r := newRig(t)
	e := r.Env
	p1 := fmt.Sprintf("/api/v1/ehr/patients/%d/", e.Patient1)
	link := r.must(t, "link", r.do(t, "svc:appointment", "POST", fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.Patient1),
		map[string]any{"appointment_id": 1, "doctor_id": e.Doctor1, "patient_id": e.Patient1, "appointment_time": "2026-03-02T02:00:00Z"},
		map[string]string{"Idempotency-Key": "appointment-ehr-link:1"}), 201)
	enc := p1 + "encounters/" + str(link.body, "encounter_id") + "/"
	diag := r.must(t, "diagnosis", r.do(t, "doctor1", "POST", enc+"diagnoses/", map[string]any{"icd_code": "R51", "description": "Headache", "is_primary": true}, nil), 201)
	plan := r.must(t, "plan", r.do(t, "doctor1", "POST", enc+"treatment-plans/", map[string]any{"description": "Rest"}, nil), 201)
	r.glass["nurse2"] = true
	r.must(t, "nurse 2 records vitals", r.do(t, "nurse2", "POST", enc+"vitals/", map[string]any{"heart_rate": 72}, nil), 201)
	r.glass["nurse2"] = false

	care := []string{"patient1", "doctor1", "doctor3+glass", "nurse2", "nurse3+glass"}
	doctors := []string{"doctor1", "doctor3+glass"}
	vitals := []string{"doctor1", "doctor3+glass", "nurse2", "nurse3+glass"}
	type route struct {
		method, path string
		body         func(caller string, i int) any
		ok           []string // callers admitted, with status
		status       int
		refused      []string // admitted by role, refused on the record (403, audited)
		other        map[string]int
	}
	appt := 100
	routes := []route{
		{"GET", p1, nil, care, 200, []string{"patient2", "doctor2", "nurse1"}, nil},
		// Any doctor may create a record; the first one does.
		{"POST", fmt.Sprintf("/api/v1/ehr/patients/%d/", e.Patient3), nil, []string{"doctor1"}, 201, nil,
			map[string]int{"doctor2": 409, "doctor3+glass": 409}},
		{"PATCH", p1, func(string, int) any { return map[string]any{"allergies": []string{"Penicillin"}} }, doctors, 200, []string{"doctor2"}, nil},
		{"GET", p1 + "encounters/", nil, care, 200, []string{"patient2", "doctor2", "nurse1"}, nil},
		{"POST", p1 + "encounters/", func(string, int) any { return map[string]any{"chief_complaint": "Cough"} }, doctors, 201, []string{"doctor2"}, nil},
		{"GET", enc, nil, care, 200, []string{"patient2", "doctor2", "nurse1"}, nil},
		{"PUT", enc, func(c string, _ int) any { return map[string]any{"physical_examination_findings": "seen by " + c} }, doctors, 200, []string{"doctor2"}, nil},
		{"POST", enc + "diagnoses/", func(string, int) any { return map[string]any{"icd_code": "J45.909", "description": "Asthma"} }, doctors, 201, []string{"doctor2"}, nil},
		{"PUT", enc + "diagnoses/" + str(diag.body, "diagnosis_id") + "/", func(c string, _ int) any { return map[string]any{"description": "Headache, " + c} },
			doctors, 200, []string{"doctor2"}, nil},
		{"POST", enc + "treatment-plans/", func(string, int) any {
			return map[string]any{"description": "Inhaler", "follow_up_instructions": "2 weeks"}
		},
			doctors, 201, []string{"doctor2"}, nil},
		{"PUT", enc + "treatment-plans/" + str(plan.body, "treatment_plan_id") + "/", func(c string, _ int) any { return map[string]any{"follow_up_instructions": c} },
			doctors, 200, []string{"doctor2"}, nil},
		{"POST", enc + "vitals/", func(string, int) any { return map[string]any{"blood_pressure": "120/80", "temperature_celsius": 37.2} },
			vitals, 201, []string{"doctor2", "nurse1"}, nil},
		{"POST", fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.Patient1), func(string, int) any {
			appt++
			return map[string]any{"appointment_id": appt, "doctor_id": e.Doctor1, "patient_id": e.Patient1, "appointment_time": "2026-03-03T02:00:00Z"}
		}, []string{"svc:appointment"}, 201, nil, nil},
		{"POST", ehrapi.PrescriptionReferencePath(e.Patient1), func(_ string, i int) any {
			return map[string]any{"prescription_id": fmt.Sprintf("rx-%d", i), "issue_date": "2026-03-02T03:00:00Z", "medications_summary": "Paracetamol"}
		}, []string{"svc:pharmacy"}, 201, nil, nil},
		{"POST", ehrapi.LabResultReferencePath(e.Patient1), func(_ string, i int) any {
			return map[string]any{"lab_order_item_id": fmt.Sprintf("item-%d", i), "test_name": "CBC", "result_date": "2026-03-02T03:00:00Z", "summary_status": "Normal"}
		}, []string{"svc:lab"}, 201, nil, nil},
		{"GET", ehrapi.AllergiesPath(e.Patient1), nil, []string{"svc:pharmacy"}, 200, nil, nil},
		{"GET", "/api/v1/ehr/internal/dashboard/", nil, []string{"svc:admin"}, 200, nil, nil},
	}
	if len(routes) != len(httpapi.Routes(nil)) {
		t.Fatalf("the matrix covers %d routes of %d", len(routes), len(httpapi.Routes(nil)))
	}
	refusals := 0
	for _, rt := range routes {
		for i, c := range callers {
			want := 403
			switch {
			case c == "anon":
				want = 401
			case contains(rt.ok, c):
				want = rt.status
			case rt.other[c] != 0:
				want = rt.other[c]
			}
			var body any
			if rt.body != nil {
				body = rt.body(c, i)
			}
			got := r.do(t, c, rt.method, rt.path, body, nil)
			if got.status != want {
				t.Errorf("%s %s as %s: %d, want %d: %s", rt.method, rt.path, c, got.status, want, got.raw)
			}
		}
		refusals += len(rt.refused)
	}
	var denied int
	for _, ev := range r.AuditEvents() {
		if ev.Outcome == audit.Denied {
			denied++
		}
	}
	if denied != refusals {
		t.Errorf("%d refusals audited, want %d", denied, refusals)
	}
	// Doctor 2's refusal says how to get in.
	got := r.do(t, "doctor2", "GET", p1, nil, nil)
	if str(got.body, "code") != "break_glass_required" {
		t.Errorf("refusal: %s", got.raw)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// HTTP-only behaviour: bad input is a 400 problem and changes nothing; a
// page past the end is 404; If-Match, ETag and the idempotent replay.
func TestHTTPBehaviour(t *testing.T) {
	r := newRig(t)
	e := r.Env
	path := fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.Patient1)
	good := map[string]any{"appointment_id": 5, "doctor_id": e.Doctor1, "patient_id": e.Patient1, "appointment_time": "2026-03-02T02:00:00Z"}
	for name, body := range map[string]any{
		"unknown field":   map[string]any{"appointment_id": 5, "doctor_id": e.Doctor1, "appointment_time": "2026-03-02T02:00:00Z", "x": 1},
		"missing doctor":  map[string]any{"appointment_id": 5, "appointment_time": "2026-03-02T02:00:00Z"},
		"time as a day":   map[string]any{"appointment_id": 5, "doctor_id": e.Doctor1, "appointment_time": "2026-03-02"},
		"malformed":       `{"appointment_id": `,
		"other patient":   map[string]any{"appointment_id": 5, "doctor_id": e.Doctor1, "patient_id": e.Patient2, "appointment_time": "2026-03-02T02:00:00Z"},
		"year 1500":       map[string]any{"appointment_id": 5, "doctor_id": e.Doctor1, "appointment_time": "1500-03-02T02:00:00Z"},
		"doctor is nurse": map[string]any{"appointment_id": 5, "doctor_id": e.Nurse1, "appointment_time": "2026-03-02T02:00:00Z"},
	} {
		if got := r.do(t, "svc:appointment", "POST", path, body, nil); got.status != 400 {
			t.Errorf("%s: %d %s", name, got.status, got.raw)
		}
	}
	if n := e.Count("encounters", nil) + e.Count("medical_records", nil); n != 0 {
		t.Fatalf("bad input wrote %d documents", n)
	}
	first := r.must(t, "link", r.do(t, "svc:appointment", "POST", path, good, map[string]string{"Idempotency-Key": "appointment-ehr-link:5"}), 201)
	again := r.must(t, "replay", r.do(t, "svc:appointment", "POST", path, good, map[string]string{"Idempotency-Key": "appointment-ehr-link:5"}), 201)
	if str(again.body, "encounter_id") != str(first.body, "encounter_id") {
		t.Fatalf("replay answered another encounter: %s", again.raw)
	}
	changed := map[string]any{"appointment_id": 5, "doctor_id": e.Doctor2, "patient_id": e.Patient1, "appointment_time": "2026-03-02T02:00:00Z"}
	r.must(t, "key reused for another body", r.do(t, "svc:appointment", "POST", path, changed, map[string]string{"Idempotency-Key": "appointment-ehr-link:5"}), 422)

	p1 := fmt.Sprintf("/api/v1/ehr/patients/%d/", e.Patient1)
	r.must(t, "page past the end", r.do(t, "patient1", "GET", p1+"encounters/?page=2", nil, nil), 404)
	r.must(t, "unknown encounter", r.do(t, "patient1", "GET", p1+"encounters/nope/", nil, nil), 404)
	enc := p1 + "encounters/" + str(first.body, "encounter_id") + "/"
	got := r.must(t, "encounter", r.do(t, "doctor1", "GET", enc, nil, nil), 200)
	etag := got.header.Get("ETag")
	if etag != `"1"` {
		t.Fatalf("ETag %q", etag)
	}
	for name, body := range map[string]any{
		"bad ICD-10":          map[string]any{"icd_code": "headache", "description": "x"},
		"no description":      map[string]any{"icd_code": "R51"},
		"description as list": map[string]any{"icd_code": "R51", "description": []string{"x"}},
	} {
		if got := r.do(t, "doctor1", "POST", enc+"diagnoses/", body, nil); got.status != 400 {
			t.Errorf("%s: %d %s", name, got.status, got.raw)
		}
	}
	for name, body := range map[string]any{
		"nothing measured":     map[string]any{},
		"pressure upside down": map[string]any{"blood_pressure": "80/120"},
		"pressure as a number": map[string]any{"blood_pressure": 120},
		"heart rate 500":       map[string]any{"heart_rate": 500},
		"fever of 60":          map[string]any{"temperature_celsius": 60},
		"tomorrow":             map[string]any{"heart_rate": 70, "timestamp": time.Now().Add(24 * time.Hour).Format(time.RFC3339)},
		"someone else's id":    map[string]any{"heart_rate": 70, "nurse_id": e.Nurse2},
	} {
		if got := r.do(t, "doctor1", "POST", enc+"vitals/", body, nil); got.status != 400 && got.status != 403 {
			t.Errorf("%s: %d %s", name, got.status, got.raw)
		}
	}
	if n := e.Count("vital_signs", nil); n != 0 {
		t.Fatalf("bad vitals wrote %d", n)
	}
	put := r.must(t, "put with If-Match", r.do(t, "doctor1", "PUT", enc, map[string]any{"chief_complaint": "Headache"}, map[string]string{"If-Match": etag}), 200)
	if put.header.Get("ETag") != `"2"` || str(put.body, "chief_complaint") != "Headache" {
		t.Fatalf("put: %v %s", put.header, put.raw)
	}
	stale := r.must(t, "stale If-Match", r.do(t, "doctor1", "PUT", enc, map[string]any{"chief_complaint": "Migraine"}, map[string]string{"If-Match": etag}), 409)
	if str(stale.body, "code") != "edit_conflict" {
		t.Fatalf("stale: %s", stale.raw)
	}
	r.must(t, "garbage If-Match", r.do(t, "doctor1", "PUT", enc, map[string]any{"chief_complaint": "Migraine"}, map[string]string{"If-Match": "abc"}), 400)
	r.must(t, "empty PUT", r.do(t, "doctor1", "PUT", enc, map[string]any{}, nil), 400)
}

// A store that cannot be reached is a 503 with Retry-After, fast, never a
// 500 or a wait.
func TestStoreOutageIs503(t *testing.T) {
	f := testkit.StartFerretDB(t, testkit.FerretPostgreSQL)
	e := rt.NewOn(t, f)
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{Verifier: e.Verifier(), StoreDown: mongodb.Unreachable})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Env: e, srv: httptest.NewServer(h), tokens: map[string]string{
		"patient1": e.Token(e.Patient1, ""), "svc:appointment": e.Token(0, "appointment")}, glass: map[string]bool{}}
	t.Cleanup(r.srv.Close)
	link := fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.Patient1)
	body := map[string]any{"appointment_id": 1, "doctor_id": e.Doctor1, "patient_id": e.Patient1, "appointment_time": "2026-03-02T02:00:00Z"}
	r.must(t, "link", r.do(t, "svc:appointment", "POST", link, body, nil), 201)
	f.Kill()
	start := time.Now()
	for _, c := range []struct{ caller, method, path string }{
		{"patient1", "GET", fmt.Sprintf("/api/v1/ehr/patients/%d/", e.Patient1)},
		{"svc:appointment", "POST", link},
	} {
		var b any
		if c.method == "POST" {
			b = body
		}
		got := r.do(t, c.caller, c.method, c.path, b, map[string]string{"Idempotency-Key": "outage-1"})
		if got.status != 503 || got.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the store down: %d %v %s", c.method, c.path, got.status, got.header, got.raw)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the outage answers took %s", d)
	}
}
