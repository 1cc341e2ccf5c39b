package dispensing_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/apitest"
	"hospital/lib/apperr"
	"hospital/lib/testkit"
	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// The allergy check against the real EHR: a match refuses, an override
// writes it and keeps the reason; a patient without a record is written
// with record_found false; the EHR's reference is queued with the
// prescription; when the EHR goes away, prescriptions are refused.
func TestPrescribeChecksAllergiesInTheEHR(t *testing.T) {
	e := dt.New(t, nil)
	ehr := dt.StartEHR(t)
	doc := e.As(e.DoctorA)
	amox := e.Medication("AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500")
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	allergic := e.Users.NewPatient(t, "rx-allergic")
	unknown := e.Users.NewPatient(t, "rx-norecord")
	ehr.Record(t, allergic, "Amoxicillin", "Peanuts")

	_, err := e.Svc.Prescribe(doc, "", prescribeRequest(allergic, para, amox))
	e.Expect("an allergic prescription", err, http.StatusConflict)
	ae, _ := apperr.As(err)
	matches, _ := ae.Extra["allergy_matches"].([]dispensing.AllergyMatch)
	if ae.Code != "allergy_conflict" || len(matches) != 1 || matches[0].Allergy != "Amoxicillin" || matches[0].MedicationID != amox.ID {
		t.Fatalf("refusal: %+v", ae)
	}
	if n := e.Count("prescriptions_versions", bson.D{}); n != 0 {
		t.Fatalf("%d prescriptions written", n)
	}
	if auditCount(e, "pharmacy.prescription.allergy_refused", allergic, "FAILED") != 1 {
		t.Fatal("the refusal is not audited")
	}

	in := prescribeRequest(allergic, para, amox)
	in.AllergyOverrideReason = "Tolerated a test dose under observation"
	in.EHREncounterID = "enc-42"
	res, err := e.Svc.Prescribe(doc, "", in)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Value
	c := p.AllergyCheck
	if !c.RecordFound || len(c.Allergies) != 2 || len(c.Matches) != 1 || c.OverrideReason == nil || *c.OverrideReason != in.AllergyOverrideReason {
		t.Fatalf("allergy check kept: %+v", c)
	}
	if p.Status != dispensing.StatusPendingVerification || p.DoctorID != e.DoctorA || p.DoctorName != "Tran Thi B" ||
		p.PatientName != "Patient rx-allergic" || p.Items[1].MedicationName != "Amoxicillin 500mg" || p.Items[0].ItemID == "" || *p.EHREncounterID != "enc-42" {
		t.Fatalf("prescription: %+v", p)
	}
	ref, ok := e.Message("prescription-ehr-reference:" + p.ID)
	if !ok || ref["prescription_id"] != p.ID || ref["patient_id"] != float64(allergic) || ref["ehr_encounter_id"] != "enc-42" ||
		ref["medications_summary"] != "Paracetamol 500mg ×15 (1 tablet, 3 times a day, 5 days); Amoxicillin 500mg ×15 (1 tablet, 3 times a day, 5 days)" {
		t.Fatalf("EHR reference: %v", ref)
	}

	fresh, err := e.Svc.Prescribe(doc, "", prescribeRequest(unknown, amox))
	if err != nil || fresh.Value.AllergyCheck.RecordFound || len(fresh.Value.AllergyCheck.Matches) != 0 {
		t.Fatalf("no record: %v %+v", err, fresh.Value.AllergyCheck)
	}
	if ref, _ := e.Message("prescription-ehr-reference:" + fresh.Value.ID); ref["ehr_encounter_id"] != nil {
		t.Fatalf("a reference without an encounter names one: %v", ref)
	}

	// A key makes a retry answer the first prescription.
	first, err := e.Svc.Prescribe(doc, "visit-77", prescribeRequest(unknown, para))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.Svc.Prescribe(doc, "visit-77", prescribeRequest(unknown, para))
	if err != nil || again.Value.ID != first.Value.ID || again.Value.Items[0].ItemID != first.Value.Items[0].ItemID {
		t.Fatalf("replay: %v %s %s", err, again.Value.ID, first.Value.ID)
	}
	if n := e.Count("prescriptions", bson.D{{Key: "patient_id", Value: unknown}}); n != 2 {
		t.Fatalf("%d prescriptions of the patient without a record", n)
	}

	// The EHR goes away: no prescription is written unchecked.
	if err := ehr.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	err = testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		_, err := e.Svc.Prescribe(doc, "", prescribeRequest(unknown, para))
		if apitest.Status(err) != http.StatusServiceUnavailable {
			return fmt.Errorf("with the EHR stopped: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.Count("prescriptions", bson.D{{Key: "patient_id", Value: unknown}}); n != 2 {
		t.Fatalf("a prescription was written without its allergy check: %d", n)
	}
}
