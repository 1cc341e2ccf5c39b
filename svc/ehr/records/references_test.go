package records_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/ehrapi"
	"hospital/svc/ehr/records"
	rt "hospital/svc/ehr/records/recordstest"
	"hospital/svc/ehr/store"
)

// logBuffer collects a domain's log lines (JSON), safe for concurrent
// writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A reference whose ehr_encounter_id names no encounter of the patient
// (unknown, or another patient's) is not refused: the callers' outboxes
// would drop it for good. It lands at record level, without the encounter
// id, once, however often it is replayed, and the other patient's
// encounter is left as it was. A warning names the ids, nothing clinical.
func TestReferenceToAnEncounterNotThePatientsLandsAtRecordLevel(t *testing.T) {
	logs := &logBuffer{}
	e := rt.New(t, func(o *records.Options) { o.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	own, err := link(e, e.Patient1, 401, e.Doctor1, "")
	if err != nil {
		t.Fatal(err)
	}
	others, err := link(e, e.Patient2, 402, e.Doctor2, "")
	if err != nil {
		t.Fatal(err)
	}
	pharmacy, lab := rt.AsService("pharmacy"), rt.AsService("lab")
	issued := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

	for _, c := range []struct{ name, encounter, rxID, itemID string }{
		{"unknown encounter", "no-such-encounter", "presc-u", "item-u"},
		{"another patient's encounter", others.Value.EncounterID, "presc-o", "item-o"},
	} {
		rx := ehrapi.PrescriptionReference{PrescriptionID: c.rxID, IssueDate: issued, PatientID: e.Patient1,
			MedicationsSummary: "Amoxicillin 500mg x21", EHREncounterID: c.encounter}
		rxKey := "prescription-ehr-reference:" + c.rxID
		res, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, rxKey, rx)
		if err != nil || res.Status != http.StatusCreated || res.Value.EHREncounterID != "" {
			t.Fatalf("%s: prescription: %+v %v", c.name, res, err)
		}
		// Replays: under the key (the first answer), without a key (the
		// reference found by its id), and naming the patient's own
		// encounter this time: it stays where it landed.
		if again, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, rxKey, rx); err != nil || again.Status != http.StatusCreated {
			t.Fatalf("%s: replay: %+v %v", c.name, again, err)
		}
		if dup, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, "", rx); err != nil || dup.Status != http.StatusOK || dup.Value.EHREncounterID != "" {
			t.Fatalf("%s: no key: %+v %v", c.name, dup, err)
		}
		moved := rx
		moved.EHREncounterID = own.Value.EncounterID
		if dup, err := e.Svc.AddPrescriptionReference(pharmacy, e.Patient1, "", moved); err != nil || dup.Status != http.StatusOK || dup.Value.EHREncounterID != "" {
			t.Fatalf("%s: naming the own encounter afterwards: %+v %v", c.name, dup, err)
		}

		lr := ehrapi.LabResultReference{LabOrderItemID: c.itemID, PatientID: e.Patient1, TestName: "Troponin I", ResultDate: issued,
			SummaryStatus: "Abnormal", LabOrderID: "order-9", EHREncounterID: c.encounter}
		labKey := "lab-ehr-reference:" + c.itemID
		lres, err := e.Svc.AddLabResultReference(lab, e.Patient1, labKey, lr)
		if err != nil || lres.Status != http.StatusCreated || lres.Value.EHREncounterID != "" {
			t.Fatalf("%s: lab result: %+v %v", c.name, lres, err)
		}
		if again, err := e.Svc.AddLabResultReference(lab, e.Patient1, labKey, lr); err != nil || again.Status != http.StatusCreated {
			t.Fatalf("%s: lab replay: %+v %v", c.name, again, err)
		}
		if dup, err := e.Svc.AddLabResultReference(lab, e.Patient1, "", lr); err != nil || dup.Status != http.StatusOK {
			t.Fatalf("%s: lab, no key: %+v %v", c.name, dup, err)
		}

		// Stored once each, without an encounter id.
		if n := e.Count(store.PrescriptionsCollection, bson.D{{Key: "_id", Value: c.rxID}}); n != 1 {
			t.Fatalf("%s: %d prescription references", c.name, n)
		}
		if n := e.Count(store.LabsCollection, bson.D{{Key: "_id", Value: c.itemID}}); n != 1 {
			t.Fatalf("%s: %d lab references", c.name, n)
		}
		if n := e.Count(store.PrescriptionsCollection, bson.D{{Key: "_id", Value: c.rxID}, {Key: "encounter_id", Value: bson.D{{Key: "$exists", Value: true}}}}) +
			e.Count(store.LabsCollection, bson.D{{Key: "_id", Value: c.itemID}, {Key: "encounter_id", Value: bson.D{{Key: "$exists", Value: true}}}}); n != 0 {
			t.Fatalf("%s: %d references stored with an encounter id", c.name, n)
		}
	}
	if n := len(e.Events(records.ActionPrescriptionRef)); n != 2 {
		t.Fatalf("%d prescription reference events", n)
	}
	if n := len(e.Events(records.ActionLabRef)); n != 2 {
		t.Fatalf("%d lab reference events", n)
	}

	rec, err := e.Svc.MedicalRecord(e.As(e.Patient1), e.Patient1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.PrescriptionReferences) != 2 || len(rec.LabResultReferences) != 2 || len(rec.Encounters) != 1 ||
		len(rec.Encounters[0].PrescriptionReferences) != 0 || len(rec.Encounters[0].LabResultReferences) != 0 {
		t.Fatalf("patient 1's record: %+v", rec)
	}
	enc, err := e.Svc.Encounter(e.As(e.Doctor2), e.Patient2, others.Value.EncounterID)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.PrescriptionReferences) != 0 || len(enc.LabResultReferences) != 0 || enc.Version != 1 ||
		!enc.UpdatedAt.Equal(enc.CreatedAt) {
		t.Fatalf("patient 2's encounter changed: %+v", enc)
	}
	rec2, err := e.Svc.MedicalRecord(e.As(e.Patient2), e.Patient2)
	if err != nil || len(rec2.PrescriptionReferences) != 0 || len(rec2.LabResultReferences) != 0 {
		t.Fatalf("patient 2's record: %+v %v", rec2, err)
	}

	// One warning per reference landed (replays found it and said nothing),
	// with the ids and nothing clinical.
	out := logs.String()
	if n := strings.Count(out, `"level":"WARN"`); n != 4 {
		t.Fatalf("%d warnings, want 4:\n%s", n, out)
	}
	for _, want := range []string{"no-such-encounter", others.Value.EncounterID, "presc-u", "presc-o", "item-u", "item-o"} {
		if !strings.Contains(out, want) {
			t.Errorf("the warnings do not name %s:\n%s", want, out)
		}
	}
	for _, phi := range []string{"Amoxicillin", "Troponin", "Abnormal", "Mai Test"} {
		if strings.Contains(out, phi) {
			t.Errorf("the warnings carry %q:\n%s", phi, out)
		}
	}
}
