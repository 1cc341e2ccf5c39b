package dispensingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"hospital/lib/testkit"
)

// EHR is a real EHR service, registered in the shared user service's
// Consul, on a database of its own.
type EHR struct {
	*testkit.Service
	users *Users
}

// StartEHR runs an EHR for the test, stopped (and gone from Consul) when
// it ends: the tests without one find no EHR, and a prescription is then
// refused for want of an allergy check.
func StartEHR(t testing.TB) *EHR {
	t.Helper()
	u := SharedUsers(t)
	f := testkit.SharedFerretDB(t)
	svc := testkit.StartService(t, u.Consul, "ehr", testkit.Build(t, "hospital/svc/ehr"),
		"MONGO_URI="+f.URI, "MONGO_DB="+f.NewDatabase(t), "SERVICE_SECRET="+EHRSecret,
		"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s", "USER_CACHE_TTL=0s")
	return &EHR{Service: svc, users: u}
}

// Record gives patient a medical record with allergies, written by doctor
// A, as a doctor does in the EHR.
func (x *EHR) Record(t testing.TB, patientID int64, allergies ...string) {
	t.Helper()
	js, _ := json.Marshal(map[string]any{"allergies": allergies})
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/ehr/patients/%d/", x.URL, patientID), bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+x.users.Token(t, "drtran"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("EHR record of %d: %d %s", patientID, resp.StatusCode, raw)
	}
}

// Chart reads a patient's medical record as the patient's doctor would
// (breaking the glass: the tests make no appointments).
func (x *EHR) Chart(t testing.TB, patientID int64) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/ehr/patients/%d/", x.URL, patientID), nil)
	req.Header.Set("Authorization", "Bearer "+x.users.Token(t, "drtran"))
	req.Header.Set("X-Break-Glass-Reason", "pharmacy test reads the record")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("EHR chart of %d: %d %s", patientID, resp.StatusCode, raw)
	}
	return out
}
