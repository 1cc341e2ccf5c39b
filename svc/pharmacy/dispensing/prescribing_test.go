package dispensing_test

import (
	"net/http"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

func prescribeRequest(patient int64, meds ...dispensing.Medication) dispensing.PrescribeRequest {
	in := dispensing.PrescribeRequest{PatientID: patient, NotesForPharmacist: "Take after meals."}
	for _, m := range meds {
		in.Items = append(in.Items, dispensing.ItemRequest{MedicationID: m.ID, Dosage: "1 tablet", Frequency: "3 times a day",
			DurationDays: 5, Instructions: "After meals", QuantityPrescribed: 15})
	}
	return in
}

// What is checked before the EHR is asked, and what happens when it cannot
// be: the prescription is refused rather than written unchecked.
func TestPrescribeRefusesBadInputAndAnUncheckedPrescription(t *testing.T) {
	e := dt.New(t, nil)
	doc := e.As(e.DoctorA)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")

	cases := map[string]struct {
		in     dispensing.PrescribeRequest
		status int
	}{
		"an inactive patient":       {prescribeRequest(e.InactivePatient, para), http.StatusBadRequest},
		"a doctor as the patient":   {prescribeRequest(e.DoctorB, para), http.StatusBadRequest},
		"no such user":              {prescribeRequest(987654321, para), http.StatusBadRequest},
		"a medication not in stock": {prescribeRequest(e.Patient1, dispensing.Medication{ID: "0123456789abcdef01234567"}), http.StatusBadRequest},
		"a malformed medication id": {prescribeRequest(e.Patient1, dispensing.Medication{ID: "PARA500"}), http.StatusBadRequest},
		"someone else as the doctor": {func() dispensing.PrescribeRequest {
			in := prescribeRequest(e.Patient1, para)
			in.DoctorID = e.DoctorB
			return in
		}(), http.StatusBadRequest},
		"too much of an item": {func() dispensing.PrescribeRequest {
			in := prescribeRequest(e.Patient1, para)
			in.Items[0].QuantityPrescribed = e.Cfg.MaxItemQuantity + 1
			return in
		}(), http.StatusBadRequest},
		// No EHR instance is registered in this test's Consul.
		"the EHR unreachable": {prescribeRequest(e.Patient1, para), http.StatusServiceUnavailable},
	}
	for what, c := range cases {
		_, err := e.Svc.Prescribe(doc, "", c.in)
		e.Expect(what, err, c.status)
		if what == "the EHR unreachable" && dt.Code(err) != "allergy_check_unavailable" {
			t.Fatalf("code %q", dt.Code(err))
		}
	}
	if n := e.Count("prescriptions_versions", bson.D{}); n != 0 {
		t.Fatalf("%d prescriptions written", n)
	}
	if n := e.Count("outbox_messages", bson.D{{Key: "target", Value: "ehr"}}); n != 0 {
		t.Fatalf("%d EHR references queued", n)
	}
}
