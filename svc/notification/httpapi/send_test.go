package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"hospital/lib/notificationapi"
	"hospital/svc/notification/httpapi"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

// A queued send answers 202, a delivered one 200; a repeat says so.
func TestSendStatuses(t *testing.T) {
	e := nt.New(t)
	user := e.Token(nt.Service("user"))
	key := map[string]string{"Idempotency-Key": "user-registered:1"}
	r := e.Do("POST", httpapi.PathSend, user, nt.Registered(e.Patient, "lan"), key)
	nt.Expect(t, "queued", r, http.StatusAccepted)
	if r.Str("status") != "QUEUED" || len(r.Str("log_id")) != 24 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("queued: %s %v", r.Raw, r.Header)
	}
	again := e.Do("POST", httpapi.PathSend, user, nt.Registered(e.Patient, "lan"), key)
	nt.Expect(t, "repeat", again, http.StatusAccepted)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.Str("log_id") != r.Str("log_id") {
		t.Fatalf("repeat: %s %v", again.Raw, again.Header)
	}
	urgent := nt.Registered(e.Patient, "lan")
	urgent.Urgent = true
	u := e.Do("POST", httpapi.PathSend, user, urgent, map[string]string{"Idempotency-Key": "urgent:1"})
	nt.Expect(t, "urgent", u, http.StatusOK)
	if u.Str("status") != "SENT" {
		t.Fatalf("urgent: %s", u.Raw)
	}
	// A sensitive send that cannot be delivered now: 503 with a time to
	// come back, for the sender's outbox to retry.
	e.Mail.Stop()
	reset := nt.Input(notificationapi.PasswordResetRequested, e.Patient, map[string]any{"user_name": "lan", "reset_link": "https://hospital.test/r?t=1"})
	s := e.Do("POST", httpapi.PathSend, user, reset, map[string]string{"Idempotency-Key": "reset:1"})
	nt.Expect(t, "sensitive, SMTP down", s, http.StatusServiceUnavailable)
	if s.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", s.Header)
	}
}

// Errors are values shared by every request; the problem each request gets
// carries its own request id (a package-level problem once answered every
// request with the first one's).
func TestSharedErrorsCarryEachRequestsID(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	admin := e.Token(nt.Admin)
	dup := notify.TemplateInput{NotificationType: "DUP_TEST", Channel: "SMS", Language: "vi", BodyTemplateText: "x"}
	nt.Expect(t, "create", e.Do("POST", httpapi.PathTemplates, admin, dup, nil), http.StatusCreated)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := fmt.Sprintf("duplicate-request-%d", i)
			r := e.Do("POST", httpapi.PathTemplates, admin, dup, map[string]string{"X-Request-ID": id})
			if r.Status != http.StatusBadRequest || r.Str("request_id") != id || r.Str("instance") != httpapi.PathTemplates {
				t.Errorf("duplicate %d: %d %s", i, r.Status, r.Raw)
			}
		})
	}
	wg.Wait()
}
