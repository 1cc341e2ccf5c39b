package records_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"hospital/lib/apitest"
	"hospital/svc/ehr/records"
	rt "hospital/svc/ehr/records/recordstest"
	"hospital/svc/ehr/store"
)

// Concurrent writers on one record, on FerretDB (see README, "Storage").

// 20 nurses recording vitals in one encounter at once leave 20 sets, and
// 20 audit events.
func TestConcurrentVitals(t *testing.T) {
	e := rt.New(t)
	enc := newEncounter(t, e, e.Patient1)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nurse := []int64{e.Nurse1, e.Nurse2, e.Nurse3}[i%3]
			_, err := e.Svc.AddVitals(rt.BreakingGlass(e.As(nurse)), e.Patient1, enc.EncounterID, "", records.VitalsRequest{HeartRate: ptr(60 + i)})
			if err != nil {
				t.Errorf("vitals %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, err := e.Svc.Encounter(e.As(e.Patient1), e.Patient1, enc.EncounterID)
	if err != nil || len(got.VitalSigns) != 20 {
		t.Fatalf("%d vitals after 20 concurrent additions: %v", len(got.VitalSigns), err)
	}
	rates := map[int]bool{}
	for _, v := range got.VitalSigns {
		rates[*v.HeartRate] = true
	}
	if len(rates) != 20 || len(e.Events(records.ActionVitalsAdd)) != 20 {
		t.Fatalf("%d distinct sets, %d audit events", len(rates), len(e.Events(records.ActionVitalsAdd)))
	}
}

// Concurrent diagnosis edits: without If-Match each lands on top of the
// others; with the same If-Match exactly one lands and the others get a
// 409; two primaries at once leave one.
func TestConcurrentDiagnoses(t *testing.T) {
	e := rt.New(t)
	enc := newEncounter(t, e, e.Patient1)
	doctors := []int64{e.Doctor1, e.Doctor2, e.Doctor3}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Svc.AddDiagnosis(rt.BreakingGlass(e.As(doctors[i%3])), e.Patient1, enc.EncounterID, "",
				records.DiagnosisRequest{ICDCode: fmt.Sprintf("J%02d", i), Description: fmt.Sprintf("finding %d", i)})
			if err != nil {
				t.Errorf("diagnosis %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, err := e.Store.EncounterFields(t.Context(), enc.EncounterID)
	if err != nil || len(got.Diagnoses) != 12 || got.Version != 13 {
		t.Fatalf("%d diagnoses at version %d after 12 concurrent additions: %v", len(got.Diagnoses), got.Version, err)
	}

	// Edits of one diagnosis decided on the same version.
	target := got.Diagnoses[0].DiagnosisID
	var mu sync.Mutex
	var ok, conflict int
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.Svc.UpdateDiagnosis(e.As(e.Doctor1), e.Patient1, enc.EncounterID, target, got.Version,
				records.DiagnosisUpdate{Description: ptr(fmt.Sprintf("revised %d", i))})
			mu.Lock()
			defer mu.Unlock()
			switch apitest.Status(err) {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			default:
				t.Errorf("edit %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || conflict != 7 {
		t.Fatalf("%d edits applied, %d conflicts; want 1 and 7", ok, conflict)
	}

	// Two doctors naming a primary diagnosis at once: one is refused.
	var primaries, refused int
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Svc.AddDiagnosis(e.As(e.Doctor1), e.Patient1, enc.EncounterID, "",
				records.DiagnosisRequest{ICDCode: "R51", Description: "Headache", IsPrimary: true})
			mu.Lock()
			defer mu.Unlock()
			switch apitest.Status(err) {
			case http.StatusOK:
				primaries++
			case http.StatusBadRequest:
				refused++
			}
		}()
	}
	wg.Wait()
	if primaries != 1 || refused != 1 {
		t.Fatalf("%d primaries, %d refused", primaries, refused)
	}
	final, err := e.Store.EncounterFields(t.Context(), enc.EncounterID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range final.Diagnoses {
		if d.IsPrimary {
			n++
		}
	}
	if n != 1 || len(final.Diagnoses) != 13 {
		t.Fatalf("%d primary of %d diagnoses", n, len(final.Diagnoses))
	}
}

// Idempotency-Key on a clinician's POST: the replay answers the first
// answer and adds nothing, another body under the key is a 422.
func TestKeyedClinicalPosts(t *testing.T) {
	e := rt.New(t)
	enc := newEncounter(t, e, e.Patient1)
	nurse := rt.BreakingGlass(e.As(e.Nurse1))
	in := records.VitalsRequest{HeartRate: ptr(88)}
	var wg sync.WaitGroup
	ids := make(chan string, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := e.Svc.AddVitals(nurse, e.Patient1, enc.EncounterID, "vitals-key-1", in)
			if err != nil {
				t.Errorf("keyed vitals: %v", err)
				return
			}
			ids <- v.Value.VitalID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || e.Count(store.VitalsCollection, nil) != 1 {
		t.Fatalf("%d answers, %d vitals", len(seen), e.Count(store.VitalsCollection, nil))
	}
	_, err := e.Svc.AddVitals(nurse, e.Patient1, enc.EncounterID, "vitals-key-1", records.VitalsRequest{HeartRate: ptr(90)})
	e.Expect("key reused", err, http.StatusUnprocessableEntity)
	d1, err := e.Svc.AddDiagnosis(e.As(e.Doctor1), e.Patient1, enc.EncounterID, "dx-1", records.DiagnosisRequest{ICDCode: "R51", Description: "Headache"})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := e.Svc.AddDiagnosis(e.As(e.Doctor1), e.Patient1, enc.EncounterID, "dx-1", records.DiagnosisRequest{ICDCode: "R51", Description: "Headache"})
	if err != nil || d2.Value.DiagnosisID != d1.Value.DiagnosisID {
		t.Fatalf("replay: %+v %v", d2, err)
	}
	got, _ := e.Store.EncounterFields(t.Context(), enc.EncounterID)
	if len(got.Diagnoses) != 1 {
		t.Fatalf("%d diagnoses after a replay", len(got.Diagnoses))
	}
}
