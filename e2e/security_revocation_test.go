package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// A deactivated doctor's token stops working at another service within
// seconds (not when it expires 15 minutes later), through the gateway.
func TestSecurityDeactivatedDoctorRefusedAtAppointment(t *testing.T) {
	r := startAppointments(t)
	doc := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": "drgone", "password": "Brass-Compass-58", "email": "drgone@hospital.test", "role_name": "DOCTOR",
	}, nil)
	expect(t, "create doctor", doc, http.StatusCreated)
	docID := int64(doc.body["id"].(float64))
	docTok, _ := r.login(t, "drgone", "Brass-Compass-58")
	mine := fmt.Sprintf("/api/v1/doctors/%d/appointments/", docID)
	expect(t, "doctor's appointments before", r.do(t, http.MethodGet, mine, docTok, nil, nil), http.StatusOK)

	expect(t, "deactivate", r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/deactivate/", docID), r.admin, nil, nil), http.StatusOK)
	start := time.Now()
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(context.Context) error {
		res := r.do(t, http.MethodGet, mine, docTok, nil, nil)
		if res.status != http.StatusUnauthorized {
			return fmt.Errorf("deactivated doctor's token at appointment: %d %s", res.status, res.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("not refused within 5 s: %v", err)
	}
	t.Logf("refused at appointment %s after the deactivation", time.Since(start).Round(time.Millisecond))
}

// A logged-out token is refused by every service, each checking it itself
// (called directly here, not through the gateway).
func TestSecurityLoggedOutTokenRefusedEverywhere(t *testing.T) {
	r := startAppointments(t)
	expect(t, "create admin", r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": "second-admin", "password": "Harbor-Light-77", "email": "second-admin@hospital.test", "role_name": "ADMIN",
	}, nil), http.StatusCreated)
	tok, _ := r.login(t, "second-admin", "Harbor-Light-77")
	endpoints := map[string]string{
		"user":         r.user.URL + "/api/v1/users/me/",
		"appointment":  r.appt.URL + "/api/v1/doctors/1/appointments/",
		"notification": r.notifSvc.URL + "/api/v1/admin/notification-logs/",
		"gateway":      r.gw + "/api/v1/users/me/",
	}
	status := func(url string) int {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for name, url := range endpoints {
		if s := status(url); s != http.StatusOK {
			t.Fatalf("%s before logout: %d", name, s)
		}
	}
	expect(t, "logout", r.do(t, http.MethodPost, "/api/v1/users/logout/", tok, nil, nil), http.StatusNoContent)
	for name, url := range endpoints {
		err := testkit.Until(context.Background(), 5*time.Second, nil, func(context.Context) error {
			if s := status(url); s != http.StatusUnauthorized {
				return fmt.Errorf("%s still answers %d", name, s)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("a logged-out token at %s: %v", name, err)
		}
	}
}
