package httpapi_test

import (
	"fmt"
	"testing"

	"hospital/lib/ehrapi"
)

// The pharmacy's and lab's outboxes drop a 4xx for good, so a reference
// naming an encounter that is not the patient's is taken (201, at record
// level, without the encounter id), and its replays answer the same.
func TestReferenceToAnEncounterNotThePatientsIsTaken(t *testing.T) {
	r := newRig(t)
	e := r.Env
	other := r.must(t, "patient 2's encounter", r.do(t, "svc:appointment", "POST",
		fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.Patient2),
		map[string]any{"appointment_id": 7, "doctor_id": e.Doctor2, "patient_id": e.Patient2, "appointment_time": "2026-03-02T02:00:00Z"}, nil), 201)

	rx := map[string]any{"prescription_id": "rx-unknown", "issue_date": "2026-03-02T03:00:00Z", "patient_id": e.Patient1,
		"medications_summary": "Paracetamol", "ehr_encounter_id": "no-such-encounter"}
	key := map[string]string{"Idempotency-Key": "prescription-ehr-reference:rx-unknown"}
	first := r.must(t, "unknown encounter", r.do(t, "svc:pharmacy", "POST", ehrapi.PrescriptionReferencePath(e.Patient1), rx, key), 201)
	if _, named := first.body["ehr_encounter_id"]; named || str(first.body, "prescription_id") != "rx-unknown" {
		t.Fatalf("answer: %s", first.raw)
	}
	r.must(t, "replay", r.do(t, "svc:pharmacy", "POST", ehrapi.PrescriptionReferencePath(e.Patient1), rx, key), 201)
	r.must(t, "again without a key", r.do(t, "svc:pharmacy", "POST", ehrapi.PrescriptionReferencePath(e.Patient1), rx, nil), 200)

	lab := map[string]any{"lab_order_item_id": "item-other", "test_name": "CBC", "result_date": "2026-03-02T03:00:00Z",
		"summary_status": "Normal", "ehr_encounter_id": str(other.body, "encounter_id")}
	r.must(t, "another patient's encounter", r.do(t, "svc:lab", "POST", ehrapi.LabResultReferencePath(e.Patient1), lab,
		map[string]string{"Idempotency-Key": "lab-ehr-reference:item-other"}), 201)

	rec := r.must(t, "record", r.do(t, "patient1", "GET", fmt.Sprintf("/api/v1/ehr/patients/%d/", e.Patient1), nil, nil), 200)
	rxs, _ := rec.body["prescription_references"].([]any)
	labs, _ := rec.body["lab_result_references"].([]any)
	if len(rxs) != 1 || len(labs) != 1 {
		t.Fatalf("record-level references: %s", rec.raw)
	}
	enc := r.must(t, "patient 2's encounter", r.do(t, "doctor2", "GET",
		fmt.Sprintf("/api/v1/ehr/patients/%d/encounters/%s/", e.Patient2, str(other.body, "encounter_id")), nil, nil), 200)
	if l, _ := enc.body["lab_result_references"].([]any); len(l) != 0 || enc.header.Get("ETag") != `"1"` {
		t.Fatalf("patient 2's encounter changed: %v %s", enc.header, enc.raw)
	}
}
