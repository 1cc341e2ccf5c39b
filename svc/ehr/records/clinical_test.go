package records_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/apitest"
	"hospital/lib/audit"
	"hospital/svc/ehr/records"
	rt "hospital/svc/ehr/records/recordstest"
	"hospital/svc/ehr/store"
)

func ptr[T any](v T) *T { return &v }

// newEncounter has doctor 1 open an encounter for patient (breaking the glass).
func newEncounter(t *testing.T, e *rt.Env, patient int64) records.Encounter {
	t.Helper()
	res, err := e.Svc.CreateEncounter(rt.BreakingGlass(e.As(e.Doctor1)), patient, "", records.EncounterRequest{ChiefComplaint: "Severe headache"})
	if err != nil || res.Status != http.StatusCreated {
		t.Fatalf("open encounter: %+v %v", res, err)
	}
	return res.Value
}

// A doctor's encounter: the doctor is the caller, names from the user
// service, the record created on the way; the appointment's encounter is
// one; diagnoses, treatment plans and vitals are validated and land in it.
func TestEncounterLifecycle(t *testing.T) {
	e := rt.New(t)
	// Patient 3 has no appointment (the other tests give patient 1 one today).
	pat := e.Patient3
	doc := e.As(e.Doctor1)
	_, err := e.Svc.CreateEncounter(doc, pat, "", records.EncounterRequest{ChiefComplaint: "x", DoctorID: e.Doctor2})
	e.Expect("another doctor's id", err, http.StatusForbidden)
	_, err = e.Svc.CreateEncounter(doc, pat, "", records.EncounterRequest{ChiefComplaint: "x"})
	e.Expect("no care relationship", err, http.StatusForbidden)
	_, err = e.Svc.CreateEncounter(rt.BreakingGlass(doc), pat, "", records.EncounterRequest{ChiefComplaint: "x",
		EncounterDate: ptr(time.Now().Add(time.Hour))})
	e.Expect("encounter tomorrow", err, http.StatusBadRequest)
	enc := newEncounter(t, e, pat)
	if enc.DoctorName != "Binh Test" || enc.DoctorID != e.Doctor1 || enc.AppointmentID != nil {
		t.Fatalf("encounter: %+v", enc)
	}

	// Doctor 1 wrote in the record: no glass needed from now on.
	d, err := e.Svc.AddDiagnosis(doc, pat, enc.EncounterID, "", records.DiagnosisRequest{ICDCode: "r51", Description: "Headache", IsPrimary: true})
	if err != nil || d.Value.ICDCode != "R51" || !d.Value.IsPrimary {
		t.Fatalf("diagnosis: %+v %v", d, err)
	}
	_, err = e.Svc.AddDiagnosis(doc, pat, enc.EncounterID, "", records.DiagnosisRequest{ICDCode: "G43.9", Description: "Migraine", IsPrimary: true})
	e.Expect("second primary", err, http.StatusBadRequest)
	for _, code := range []string{"R5", "RR1", "R51.12345", "51", "R51-1"} {
		_, err = e.Svc.AddDiagnosis(doc, pat, enc.EncounterID, "", records.DiagnosisRequest{ICDCode: code, Description: "x"})
		e.Expect("ICD-10 "+code, err, http.StatusBadRequest)
	}
	g, err := e.Svc.AddDiagnosis(doc, pat, enc.EncounterID, "", records.DiagnosisRequest{ICDCode: "G43.909", Description: "Migraine"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.Svc.UpdateDiagnosis(doc, pat, enc.EncounterID, g.Value.DiagnosisID, 0, records.DiagnosisUpdate{IsPrimary: ptr(true)})
	e.Expect("made primary beside another", err, http.StatusBadRequest)
	_, _, err = e.Svc.UpdateDiagnosis(doc, pat, enc.EncounterID, d.Value.DiagnosisID, 0, records.DiagnosisUpdate{IsPrimary: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	upd, version, err := e.Svc.UpdateDiagnosis(doc, pat, enc.EncounterID, g.Value.DiagnosisID, 0, records.DiagnosisUpdate{IsPrimary: ptr(true)})
	if err != nil || !upd.IsPrimary || version != 5 {
		t.Fatalf("primary moved: %+v v%d %v", upd, version, err)
	}
	_, _, err = e.Svc.UpdateDiagnosis(doc, pat, enc.EncounterID, "nope", 0, records.DiagnosisUpdate{Description: ptr("x")})
	e.Expect("unknown diagnosis", err, http.StatusNotFound)
	_, _, err = e.Svc.UpdateDiagnosis(doc, e.Patient2, enc.EncounterID, g.Value.DiagnosisID, 0, records.DiagnosisUpdate{Description: ptr("x")})
	e.Expect("encounter of another patient", err, http.StatusForbidden)

	plan, err := e.Svc.AddTreatmentPlan(doc, pat, enc.EncounterID, "", records.TreatmentPlanRequest{Description: "Rest and Paracetamol"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := e.Svc.UpdateTreatmentPlan(doc, pat, enc.EncounterID, plan.Value.TreatmentPlanID, 0,
		records.TreatmentPlanUpdate{FollowUpInstructions: ptr("Return if not improved in 3 days")})
	if err != nil || p.Description != "Rest and Paracetamol" || p.FollowUpInstructions == "" {
		t.Fatalf("plan: %+v %v", p, err)
	}

	// Vitals: by a nurse who has no relationship yet (glass), then by care.
	nurse := e.As(e.Nurse1)
	_, err = e.Svc.AddVitals(nurse, pat, enc.EncounterID, "", records.VitalsRequest{HeartRate: ptr(80)})
	e.Expect("nurse without care", err, http.StatusForbidden)
	v, err := e.Svc.AddVitals(rt.BreakingGlass(nurse), pat, enc.EncounterID, "", records.VitalsRequest{
		HeartRate: ptr(80), BloodPressure: ptr("120/80"), TemperatureCelsius: ptr(37.0), Timestamp: ptr(time.Now().Add(-time.Minute))})
	if err != nil || v.Value.NurseID != e.Nurse1 {
		t.Fatalf("vitals: %+v %v", v, err)
	}
	for name, in := range map[string]records.VitalsRequest{
		"nothing":           {},
		"upside down":       {BloodPressure: ptr("80/120")},
		"equal":             {BloodPressure: ptr("90/90")},
		"not a pressure":    {BloodPressure: ptr("120-80")},
		"systolic of 400":   {BloodPressure: ptr("400/80")},
		"in the future":     {HeartRate: ptr(70), Timestamp: ptr(time.Now().Add(time.Hour))},
		"before 1900":       {HeartRate: ptr(70), Timestamp: ptr(time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC))},
		"someone else's id": {HeartRate: ptr(70), NurseID: e.Nurse2},
	} {
		_, err := e.Svc.AddVitals(nurse, pat, enc.EncounterID, "", in)
		if s := apitest.Status(err); s != http.StatusBadRequest && s != http.StatusForbidden {
			t.Errorf("%s: %d %v", name, s, err)
		}
	}
	if _, err := e.Svc.AddVitals(nurse, pat, enc.EncounterID, "", records.VitalsRequest{TemperatureCelsius: ptr(38.5)}); err != nil {
		t.Fatalf("nurse with care now: %v", err)
	}
	_, err = e.Svc.AddVitals(nurse, pat, "no-such-encounter", "", records.VitalsRequest{HeartRate: ptr(70)})
	e.Expect("unknown encounter", err, http.StatusNotFound)

	got, err := e.Svc.Encounter(e.As(pat), pat, enc.EncounterID)
	if err != nil || len(got.Diagnoses) != 2 || len(got.TreatmentPlans) != 1 || len(got.VitalSigns) != 2 || got.Version != 7 ||
		!got.VitalSigns[0].Timestamp.Before(got.VitalSigns[1].Timestamp) || *got.VitalSigns[1].TemperatureCelsius != 38.5 {
		t.Fatalf("encounter: %+v %v", got, err)
	}
	_, err = e.Svc.Encounter(e.As(pat), e.Patient2, enc.EncounterID)
	e.Expect("encounter under another patient", err, http.StatusForbidden)
	_, err = e.Svc.Encounter(rt.BreakingGlass(e.As(e.Doctor1)), e.Patient2, enc.EncounterID)
	e.Expect("encounter under another patient's record", err, http.StatusNotFound)

	// The appointment's encounter is one: a doctor naming it after
	// link-appointment is told which it is.
	if _, err := link(e, pat, 77, e.Doctor1, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.Svc.CreateEncounter(doc, pat, "", records.EncounterRequest{ChiefComplaint: "Follow-up", AppointmentID: ptr(int64(77))})
	e.Expect("second encounter of an appointment", err, http.StatusConflict)

	// The list: the latest first, paged.
	page, n, err := e.Svc.Encounters(e.As(pat), pat, 1, 0)
	if err != nil || n != 2 || len(page) != 1 || page[0].EncounterID != enc.EncounterID {
		t.Fatalf("list: %d %+v %v", n, page, err)
	}
	flagged, recorded := 0, 0
	for _, ev := range e.Events(records.ActionVitalsAdd) {
		if ev.Outcome == audit.Success {
			recorded++
		}
		if ev.BreakGlass {
			flagged++
		}
	}
	if flagged != 1 || recorded != 2 {
		t.Fatalf("vitals audit: %+v", e.Events(records.ActionVitalsAdd))
	}
}

// The record's own fields change by PATCH; concurrent PATCHes of different
// fields all land.
func TestRecordPatch(t *testing.T) {
	e := rt.New(t)
	doc := rt.BreakingGlass(e.As(e.Doctor1))
	_, err := e.Svc.UpdateRecord(doc, e.Patient2, records.RecordPatch{BloodType: ptr("B+")})
	e.Expect("no record yet", err, http.StatusNotFound)
	if _, err := e.Svc.CreateRecord(e.As(e.Doctor1), e.Patient2, "", records.RecordRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.Svc.UpdateRecord(doc, e.Patient2, records.RecordPatch{})
	e.Expect("empty patch", err, http.StatusBadRequest)
	_, err = e.Svc.UpdateRecord(doc, e.Patient2, records.RecordPatch{BloodType: ptr("Z")})
	e.Expect("bad blood type", err, http.StatusBadRequest)
	var wg sync.WaitGroup
	for _, p := range []records.RecordPatch{
		{BloodType: ptr("B+")},
		{Allergies: &[]string{"Latex", "Penicillin"}},
		{ChronicConditions: &[]string{"Asthma"}},
		{MedicalHistorySummary: ptr("Hen suyễn từ nhỏ")},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Svc.UpdateRecord(doc, e.Patient2, p); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r, err := e.Svc.MedicalRecord(e.As(e.Patient2), e.Patient2)
	if err != nil || r.BloodType != "B+" || len(r.Allergies) != 2 || len(r.ChronicConditions) != 1 || r.MedicalHistorySummary == "" {
		t.Fatalf("after concurrent patches: %+v %v", r, err)
	}
	if n := len(e.Events(records.ActionRecordUpdate)); n != 4 {
		t.Fatalf("%d updates audited", n)
	}
	// Clearing the blood type.
	r2, err := e.Svc.UpdateRecord(doc, e.Patient2, records.RecordPatch{BloodType: ptr("")})
	if err != nil || r2.BloodType != "" {
		t.Fatalf("clear: %+v %v", r2, err)
	}
}

// The dashboard's figures.
func TestDashboard(t *testing.T) {
	e := rt.New(t)
	newEncounter(t, e, e.Patient3) // breaks the glass once, creates the record
	if _, err := link(e, e.Patient2, 5, e.Doctor1, ""); err != nil {
		t.Fatal(err) // dated March 2026: not this week
	}
	d, err := e.Svc.Dashboard(rt.AsService("admin"))
	if err != nil || d.MedicalRecords != 2 || d.EncountersThisWeek != 1 || d.BreakGlassAccesses7d != 1 {
		t.Fatalf("dashboard: %+v %v", d, err)
	}
	if n := e.Count(store.EncountersCollection, bson.D{{Key: "week", Value: records.WeekOf(time.Now(), rt.Clinic)}}); n != 1 {
		t.Fatalf("%d encounters indexed this week", n)
	}
}

// An inactive doctor opens no encounter, but what happened in their
// appointment is still linked.
func TestInactiveDoctor(t *testing.T) {
	e := rt.New(t)
	e.Deactivate(t, e.Doctor3, false)
	t.Cleanup(func() { e.Deactivate(t, e.Doctor3, true) })
	_, err := e.Svc.CreateEncounter(rt.BreakingGlass(e.As(e.Doctor3)), e.Patient3, "", records.EncounterRequest{ChiefComplaint: "Cough"})
	e.Expect("inactive doctor", err, http.StatusBadRequest)
	res, err := link(e, e.Patient3, 901, e.Doctor3, "")
	if err != nil || res.Status != http.StatusCreated || res.Value.DoctorName != "Giang Test" {
		t.Fatalf("link with an inactive doctor: %+v %v", res, err)
	}
}
