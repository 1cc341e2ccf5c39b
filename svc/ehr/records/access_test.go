package records_test

import (
	"math"
	"net/http"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/audit"
	"hospital/svc/ehr/records"
	rt "hospital/svc/ehr/records/recordstest"
	"hospital/svc/ehr/store"
)

// A doctor creates a record once; the patient reads their own and no
// other; the user service's names and roles are the truth.
func TestCreateAndReadRecord(t *testing.T) {
	e := rt.New(t)
	res, err := e.Svc.CreateRecord(e.As(e.Doctor1), e.Patient2, "", records.RecordRequest{
		BloodType: "A+", Allergies: []string{"Aspirin"}, ChronicConditions: []string{"Hypertension"}, MedicalHistorySummary: "Khỏe"})
	if err != nil || res.Status != http.StatusCreated || res.Value.PatientName != "Lan Test" || res.Value.Encounters == nil {
		t.Fatalf("create: %+v %v", res, err)
	}
	_, err = e.Svc.CreateRecord(e.As(e.Doctor2), e.Patient2, "", records.RecordRequest{})
	e.Expect("second record", err, http.StatusConflict)
	_, err = e.Svc.CreateRecord(e.As(e.Doctor1), e.Nurse1, "", records.RecordRequest{})
	e.Expect("record of a nurse", err, http.StatusBadRequest)
	_, err = e.Svc.CreateRecord(e.As(e.Doctor1), 987654, "", records.RecordRequest{})
	e.Expect("record of nobody", err, http.StatusBadRequest)
	_, err = e.Svc.CreateRecord(e.As(e.Doctor1), e.Patient3, "", records.RecordRequest{BloodType: "C+"})
	e.Expect("unknown blood type", err, http.StatusBadRequest)
	if n := e.Count(store.RecordsCollection, nil); n != 1 {
		t.Fatalf("%d records", n)
	}

	rec, err := e.Svc.MedicalRecord(e.As(e.Patient2), e.Patient2)
	if err != nil || rec.BloodType != "A+" || rec.Allergies[0] != "Aspirin" || rec.MedicalHistorySummary != "Khỏe" {
		t.Fatalf("own record: %+v %v", rec, err)
	}
	_, err = e.Svc.MedicalRecord(e.As(e.Patient1), e.Patient2)
	e.Expect("another patient's record", err, http.StatusForbidden)
	_, err = e.Svc.MedicalRecord(e.As(e.Patient1), e.Patient1)
	e.Expect("own record that does not exist", err, http.StatusNotFound)
	_, err = e.Svc.MedicalRecord(e.As(e.Admin), e.Patient2)
	e.Expect("admin reads clinical data", err, http.StatusForbidden)

	var read, denied int
	for _, ev := range e.AuditEvents() {
		switch {
		case ev.Action == records.ActionRecordRead && ev.Outcome == audit.Success && ev.UserID == e.Patient2:
			read++
		case ev.Action == records.ActionRecordRead && ev.Outcome == audit.Denied && ev.PatientID == e.Patient2:
			denied++
		}
	}
	if read != 1 || denied != 2 {
		t.Fatalf("audited %d reads, %d refusals", read, denied)
	}
}

// Care relationships: a doctor who wrote an encounter, a doctor with an
// appointment (not cancelled), a nurse for a patient seen today, a nurse
// who recorded vitals; anyone else breaks the glass with a reason, and the
// access is kept and flagged.
func TestCareRelationshipsAndBreakingTheGlass(t *testing.T) {
	e := rt.New(t)
	if _, err := link(e, e.Patient1, 401, e.Doctor1, ""); err != nil {
		t.Fatal(err)
	}
	read := func(who int64) error {
		_, err := e.Svc.MedicalRecord(e.As(who), e.Patient1)
		return err
	}
	e.Expect("doctor who wrote the encounter", read(e.Doctor1), http.StatusOK)
	e.Expect("doctor without relationship", read(e.Doctor2), http.StatusForbidden)
	e.Expect("nurse without relationship", read(e.Nurse1), http.StatusForbidden)

	appt := e.Book(t, e.Patient1, e.Doctor2)
	e.Expect("doctor with an appointment", read(e.Doctor2), http.StatusOK)
	e.Expect("nurse, appointment not today", read(e.Nurse1), http.StatusForbidden)
	e.Cancel(t, e.Patient1, appt)
	e.Expect("doctor, appointment cancelled", read(e.Doctor2), http.StatusForbidden)
	today := e.Book(t, e.Patient1, e.Doctor2)
	e.MoveToNow(t, today)
	e.Expect("nurse, appointment today", read(e.Nurse1), http.StatusOK)
	e.Expect("other nurse, appointment today", read(e.Nurse2), http.StatusOK)

	// Breaking the glass.
	e.Expect("doctor without relationship", read(e.Doctor3), http.StatusForbidden)
	_, err := e.Svc.MedicalRecord(records.WithBreakGlass(e.As(e.Doctor3), "urgent"), e.Patient1)
	e.Expect("reason too short", err, http.StatusBadRequest)
	rec, err := e.Svc.MedicalRecord(rt.BreakingGlass(e.As(e.Doctor3)), e.Patient1)
	if err != nil || len(rec.Encounters) != 1 {
		t.Fatalf("break the glass: %+v %v", rec, err)
	}
	if n := e.Count(store.BreakGlassCollection, bson.D{{Key: "user_id", Value: e.Doctor3}, {Key: "patient_id", Value: e.Patient1}}); n != 1 {
		t.Fatalf("%d break-glass accesses kept", n)
	}
	var flagged, byCare int
	for _, ev := range e.Events(records.ActionRecordRead) {
		if ev.BreakGlass && ev.UserID == e.Doctor3 && ev.Details["break_glass_reason"] == "Unconscious patient in the emergency room" {
			flagged++
		}
		if !ev.BreakGlass && ev.UserID == e.Doctor1 && ev.Details["access"] == "care" {
			byCare++
		}
	}
	if flagged != 1 || byCare != 1 {
		t.Fatalf("%d flagged reads, %d by care", flagged, byCare)
	}
	// A doctor with a care relationship who sends a reason anyway is not
	// breaking anything.
	if err := func() error { _, err := e.Svc.MedicalRecord(rt.BreakingGlass(e.As(e.Doctor1)), e.Patient1); return err }(); err != nil {
		t.Fatal(err)
	}
	if n := e.Count(store.BreakGlassCollection, nil); n != 1 {
		t.Fatalf("%d break-glass accesses", n)
	}
	// An id the appointment service refuses is no appointment (not a 503).
	_, err = e.Svc.MedicalRecord(e.As(e.Doctor2), math.MaxInt64)
	e.Expect("a patient id out of the appointment service's range", err, http.StatusForbidden)
	// Patients cannot break the glass.
	_, err = e.Svc.MedicalRecord(rt.BreakingGlass(e.As(e.Patient2)), e.Patient1)
	e.Expect("patient breaking the glass", err, http.StatusForbidden)
}
