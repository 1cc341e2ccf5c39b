package records_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/ehrapi"
	"hospital/lib/testkit"
	"hospital/svc/ehr/records"
	rt "hospital/svc/ehr/records/recordstest"
	"hospital/svc/ehr/store"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

var apptService = rt.AsService("appointment")

func link(e *rt.Env, patient, appointment, doctor int64, key string) (records.Result[records.Encounter], error) {
	return e.Svc.LinkAppointment(apptService, patient, key, ehrapi.LinkAppointment{
		AppointmentID: appointment, DoctorID: doctor, PatientID: patient,
		AppointmentTime: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC),
	})
}

// link-appointment creates the patient's record, then the encounter
// skeleton with the names from the user service; a replay answers the first
// answer, another key the same encounter (200), and nothing is doubled.
func TestLinkAppointmentMakesTheRecordAndOneEncounter(t *testing.T) {
	e := rt.New(t)
	res, err := link(e, e.Patient1, 101, e.Doctor1, "appointment-ehr-link:101")
	if err != nil || res.Status != http.StatusCreated {
		t.Fatalf("link: %+v %v", res, err)
	}
	enc := res.Value
	if enc.DoctorName != "Binh Test" || enc.DoctorID != e.Doctor1 || enc.AppointmentID == nil || *enc.AppointmentID != 101 ||
		!enc.EncounterDate.Equal(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)) || len(enc.Diagnoses) != 0 || enc.VitalSigns == nil {
		t.Fatalf("encounter: %+v", enc)
	}
	rec, err := e.Svc.MedicalRecord(e.As(e.Patient1), e.Patient1)
	if err != nil || rec.PatientName != "Mai Test" || len(rec.Encounters) != 1 || rec.Encounters[0].EncounterID != enc.EncounterID {
		t.Fatalf("record: %+v %v", rec, err)
	}
	again, err := link(e, e.Patient1, 101, e.Doctor1, "appointment-ehr-link:101")
	if err != nil || again.Status != http.StatusCreated || again.Value.EncounterID != enc.EncounterID {
		t.Fatalf("replay: %+v %v", again, err)
	}
	other, err := link(e, e.Patient1, 101, e.Doctor1, "")
	if err != nil || other.Status != http.StatusOK || other.Value.EncounterID != enc.EncounterID {
		t.Fatalf("another key: %+v %v", other, err)
	}
	if n := e.Count(store.EncountersCollection, nil); n != 1 {
		t.Fatalf("%d encounters", n)
	}
	if n := len(e.Events(records.ActionLinkAppointment)); n != 1 {
		t.Fatalf("%d link audit events", n)
	}
	if n := len(e.Events(records.ActionRecordCreate)); n != 1 {
		t.Fatalf("%d record creations audited", n)
	}

	// Refused for good (a 4xx the caller's outbox will not retry): the
	// body's patient is not the path's, the doctor is not a doctor, the
	// patient is not a patient.
	_, err = e.Svc.LinkAppointment(apptService, e.Patient1, "", ehrapi.LinkAppointment{AppointmentID: 9, DoctorID: e.Doctor1,
		PatientID: e.Patient2, AppointmentTime: time.Now()})
	e.Expect("patient mismatch", err, http.StatusBadRequest)
	_, err = link(e, e.Patient1, 102, e.Patient2, "")
	e.Expect("doctor who is a patient", err, http.StatusBadRequest)
	_, err = link(e, e.Nurse1, 103, e.Doctor1, "")
	e.Expect("patient who is a nurse", err, http.StatusBadRequest)
	if n := e.Count(store.EncountersCollection, nil); n != 1 {
		t.Fatalf("refusals wrote encounters: %d", n)
	}
}

// Concurrent replays of one appointment, under its key and under others,
// make one encounter and one record.
func TestConcurrentLinksMakeOneEncounter(t *testing.T) {
	e := rt.New(t)
	var wg sync.WaitGroup
	ids := make(chan string, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "appointment-ehr-link:201"
			if i%2 == 1 {
				key = fmt.Sprintf("other-key-%d", i)
			}
			res, err := link(e, e.Patient2, 201, e.Doctor2, key)
			if err != nil {
				t.Errorf("link %d: %v", i, err)
				return
			}
			ids <- res.Value.EncounterID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("answers named %d encounters", len(seen))
	}
	if n := e.Count(store.EncountersCollection, bson.D{{Key: "appointment_id", Value: int64(201)}}); n != 1 {
		t.Fatalf("%d encounters for one appointment", n)
	}
	if n := e.Count(store.EncountersCollection+"_versions", nil); n != 1 {
		t.Fatalf("%d encounter versions", n)
	}
	if n := e.Count(store.RecordsCollection, nil); n != 1 {
		t.Fatalf("%d records", n)
	}
}

// A reference goes into its encounter when named, into the record-level
// list otherwise, and lands once; the same id for another patient is a 409.
// (An encounter that is not the patient's: references_test.go.)
func TestReferencesLandOnce(t *testing.T) {
	e := rt.New(t)
	enc, err := link(e, e.Patient1, 301, e.Doctor1, "")
	if err != nil {
		t.Fatal(err)
	}
	pharmacy, lab := rt.AsService("pharmacy"), rt.AsService("lab")
	issued := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)
	rx := ehrapi.PrescriptionReference{PrescriptionID: "presc-1", IssueDate: issued, PatientID: e.Patient1,
		MedicationsSummary: "Paracetamol 500mg x10", EHREncounterID: enc.Value.EncounterID}
	res, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, "prescription-ehr-reference:presc-1", rx)
	if err != nil || res.Status != http.StatusCreated || res.Value.PrescriptionDetailsURL != "/api/v1/prescriptions/presc-1/" {
		t.Fatalf("prescription reference: %+v %v", res, err)
	}
	again, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, "prescription-ehr-reference:presc-1", rx)
	if err != nil || again.Status != http.StatusCreated {
		t.Fatalf("replay: %+v %v", again, err)
	}
	dup, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, "", rx)
	if err != nil || dup.Status != http.StatusOK {
		t.Fatalf("same reference, no key: %+v %v", dup, err)
	}
	_, err = e.Svc.AddPrescriptionReference(pharmacy, e.Patient2, "", ehrapi.PrescriptionReference{PrescriptionID: "presc-1", IssueDate: issued})
	e.Expect("same prescription, another patient", err, http.StatusConflict)

	// Record-level, and concurrently: one document.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Svc.AddLabResultReference(lab, e.Patient1, "", ehrapi.LabResultReference{LabOrderItemID: "item-7",
				TestName: "Complete Blood Count", ResultDate: issued, SummaryStatus: "Abnormal", LabOrderID: "order-3"})
			if err != nil {
				t.Errorf("lab reference: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := e.Count(store.LabsCollection, nil); n != 1 {
		t.Fatalf("%d lab references", n)
	}
	if n := len(e.Events(records.ActionLabRef)); n != 1 {
		t.Fatalf("%d lab reference events", n)
	}
	rec, err := e.Svc.MedicalRecord(e.As(e.Patient1), e.Patient1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Encounters) != 1 || len(rec.Encounters[0].PrescriptionReferences) != 1 || len(rec.PrescriptionReferences) != 0 {
		t.Fatalf("prescription placement: %+v", rec)
	}
	if len(rec.LabResultReferences) != 1 || len(rec.Encounters[0].LabResultReferences) != 0 ||
		*rec.LabResultReferences[0].ResultSummaryURL != "/api/v1/lab/orders/order-3/results/" {
		t.Fatalf("lab placement: %+v", rec)
	}

	// A reference for a patient without a record creates it.
	_, err = e.Svc.AddLabResultReference(lab, e.Patient3, "", ehrapi.LabResultReference{LabOrderItemID: "item-8",
		TestName: "Glucose", ResultDate: issued, SummaryStatus: "Normal"})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := e.Svc.MedicalRecord(e.As(e.Patient3), e.Patient3)
	if err != nil || r3.PatientName != "Hoa Test" || len(r3.LabResultReferences) != 1 || r3.LabResultReferences[0].ResultSummaryURL != nil {
		t.Fatalf("patient 3: %+v %v", r3, err)
	}
}

// Pharmacy's allergy check: nothing known without a record (said so), the
// record's list otherwise; each read is audited.
func TestAllergies(t *testing.T) {
	e := rt.New(t)
	pharmacy := rt.AsService("pharmacy")
	a, err := e.Svc.Allergies(pharmacy, e.Patient2)
	if err != nil || a.HasRecord || a.Allergies == nil || len(a.Allergies) != 0 {
		t.Fatalf("no record: %+v %v", a, err)
	}
	if _, err := e.Svc.CreateRecord(e.As(e.Doctor1), e.Patient2, "", records.RecordRequest{
		Allergies: []string{"Penicillin", " peanuts ", "penicillin"}, BloodType: "O+"}); err != nil {
		t.Fatal(err)
	}
	a, err = e.Svc.Allergies(pharmacy, e.Patient2)
	if err != nil || !a.HasRecord || fmt.Sprint(a.Allergies) != "[Penicillin peanuts]" {
		t.Fatalf("allergies: %+v %v", a, err)
	}
	evs := e.Events(records.ActionAllergiesRead)
	if len(evs) != 2 || evs[0].ActorService != "pharmacy" || evs[0].PatientID != e.Patient2 {
		t.Fatalf("audit: %+v", evs)
	}
}
