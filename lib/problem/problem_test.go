package problem_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"hospital/lib/apperr"
	"hospital/lib/problem"
)

// A problem kept in a package variable is answered to many requests at once;
// each answer must carry its own request's path and ID, and the variable must
// not change.
func TestSharedProblemAnswersEachRequestWithItsOwnInstance(t *testing.T) {
	shared := problem.Forbidden("You do not have permission to perform this action.")
	sharedErr := apperr.Forbidden("You do not have permission to perform this action.")
	for name, write := range map[string]func(w http.ResponseWriter, r *http.Request){
		"problem": func(w http.ResponseWriter, r *http.Request) { problem.Write(w, r, shared) },
		"apperr": func(w http.ResponseWriter, r *http.Request) {
			p, _ := problem.FromError(sharedErr)
			problem.Write(w, r, p)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					path, reqID := fmt.Sprintf("/api/v1/things/%d/", i), fmt.Sprintf("request-%08d", i)
					rec := httptest.NewRecorder()
					rec.Header().Set("X-Request-ID", reqID)
					write(rec, httptest.NewRequest(http.MethodGet, path, nil))
					var body map[string]any
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
						t.Errorf("body: %v", err)
						return
					}
					if rec.Code != http.StatusForbidden || body["instance"] != path || body["request_id"] != reqID {
						t.Errorf("request %d answered %d %v", i, rec.Code, body)
					}
				}()
			}
			wg.Wait()
		})
	}
	if shared.Instance != "" || shared.RequestID != "" {
		t.Fatalf("the shared problem was changed: %+v", shared)
	}
}

func TestFromErrorMapsKindsAndKeepsFields(t *testing.T) {
	err := fmt.Errorf("create prescription: %w",
		apperr.Conflict("Patient is allergic to Penicillin.").WithCode("allergy_conflict").With("allergy", "Penicillin"))
	p, ok := problem.FromError(err)
	if !ok || p.Status != http.StatusConflict || p.Code != "allergy_conflict" {
		t.Fatalf("got %+v %v", p, ok)
	}
	rec := httptest.NewRecorder()
	problem.Write(rec, httptest.NewRequest(http.MethodPost, "/x/", nil), p)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body["allergy"] != "Penicillin" || body["detail"] == "" || body["status"] != float64(409) {
		t.Fatalf("body %v", body)
	}
	if _, ok := problem.FromError(fmt.Errorf("plain")); ok {
		t.Fatal("a plain error became a problem")
	}
	u, _ := problem.FromError(apperr.Unavailable("down", 0))
	if u.Status != http.StatusServiceUnavailable {
		t.Fatalf("unavailable -> %d", u.Status)
	}
}
