package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hospital/lib/api"
	"hospital/lib/auth"
	bt "hospital/svc/appointment/booking/bookingtest"
	"hospital/svc/appointment/httpapi"
)

// The callers of the access matrix. "own" objects are patient 1's
// appointment with doctor A, patient 1's list, doctor A's list, schedule
// and availability.
var callers = []string{"anonymous", "patient", "other patient", "doctor", "other doctor", "nurse", "admin", "pharmacist", "service notification", "service ehr"}

// matrix is every route × every caller: the status each gets. A route
// missing here fails the test, so a new route cannot go unchecked.
var matrix = map[string][]int{
	//                                               anon patient other  doctor otherdr nurse admin pharm  svc  ehr
	"GET /api/v1/appointments/internal/care/": {401, 403, 403, 403, 403, 403, 403, 403, 403, 200},
	"POST /api/v1/appointments/":              {401, 201, 403, 403, 403, 201, 201, 403, 403, 403},
	"GET /api/v1/appointments/{id}/":          {401, 200, 403, 200, 403, 200, 200, 403, 403, 403},
	"PUT /api/v1/appointments/{id}/":          {401, 403, 403, 200, 403, 200, 200, 403, 403, 403},
	"PATCH /api/v1/appointments/{id}/":        {401, 403, 403, 200, 403, 200, 200, 403, 403, 403},
	"PUT /api/v1/appointments/{id}/cancel/":   {401, 200, 403, 200, 403, 200, 200, 403, 403, 403},
	"PUT /api/v1/appointments/{id}/confirm/":  {401, 403, 403, 200, 403, 200, 200, 403, 403, 403},
	"PUT /api/v1/appointments/{id}/complete/": {401, 403, 403, 200, 403, 403, 200, 403, 403, 403},
	"GET /api/v1/patients/{id}/appointments/": {401, 200, 403, 200, 200, 200, 200, 403, 403, 403},
	"GET /api/v1/doctors/{id}/appointments/":  {401, 403, 403, 200, 403, 200, 200, 403, 403, 403},
	"GET /api/v1/doctors/{id}/availability/":  {401, 200, 200, 200, 200, 200, 200, 200, 403, 403},
	"GET /api/v1/doctors/{id}/schedule/":      {401, 403, 403, 200, 403, 200, 200, 403, 403, 403},
	"POST /api/v1/doctors/{id}/schedule/":     {401, 403, 403, 201, 403, 403, 201, 403, 403, 403},

	// The admin service's only (http_test.go calls it as admin).
	"GET /api/v1/appointments/internal/dashboard/": {401, 403, 403, 403, 403, 403, 403, 403, 403, 403},
}

func TestAccessMatrix(t *testing.T) {
	cfg := bt.Config()
	cfg.MaxOpenPerPatient = 1000
	s := newServer(t, &cfg)
	allDay(s, s.DoctorA)
	tokens := map[string]string{
		"anonymous": "", "patient": s.Token(s.user(s.Patient1)), "other patient": s.Token(s.user(s.Patient2)),
		"doctor": s.Token(s.user(s.DoctorA)), "other doctor": s.Token(s.user(s.DoctorB)),
		"nurse": s.Token(s.user(s.Nurse)), "admin": s.Token(s.user(s.Admin)),
		"pharmacist":           s.Token(auth.Identity{UserID: 990001, Role: auth.RolePharmacist}),
		"service notification": s.Token(auth.Identity{Role: auth.RoleService, Service: "notification"}),
		"service ehr":          s.Token(auth.Identity{Role: auth.RoleService, Service: "ehr"}),
	}
	next := 0
	// fresh is a new PENDING appointment of patient 1 with doctor A, in a
	// slot of its own; confirmed and begun when the route needs it.
	fresh := func(confirmed, begun bool) int64 {
		next++
		at := time.Date(2026, 12, 8+next/40, 0, 0, 0, 0, bt.Clinic).Add(time.Duration(next%40) * 30 * time.Minute)
		a := s.Require("fixture", s.book(s.Patient1, s.DoctorA, at.Format(time.RFC3339)), http.StatusCreated)
		if confirmed {
			s.Require("fixture confirm", s.as(s.Admin, http.MethodPut, fmt.Sprintf("/api/v1/appointments/%d/confirm/", a.ID()), nil), http.StatusOK)
		}
		if begun {
			// As if its time had come: moved to have started a minute ago (each its own minute).
			start := s.Clock.Now().UTC().Add(-time.Duration(next) * time.Minute).Truncate(time.Minute)
			if _, err := s.DB.Exec(`UPDATE appointments SET appointment_time = ?, end_time = ?, active_slot = ? WHERE id = ?`,
				start, start.Add(30*time.Minute), start, a.ID()); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID()
	}

	seen := map[string]bool{}
	for _, rt := range httpapi.Routes(nil) {
		op := rt.Method + " " + strings.NewReplacer("{appointment_id}", "{id}", "{patient_id}", "{id}", "{doctor_id}", "{id}").
			Replace(regexpVars(rt.Path))
		want, ok := matrix[op]
		if !ok {
			t.Errorf("%s has no row in the access matrix", op)
			continue
		}
		seen[op] = true
		for i, who := range callers {
			path, body := request(op, fresh, s, who, i)
			r := s.Do(rt.Method, path, tokens[who], body)
			if r.Status != want[i] {
				t.Errorf("%s as %s: %d, want %d: %s", op, who, r.Status, want[i], r.Raw)
			}
			if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s as %s: error without problem+json", op, who)
			}
		}
	}
	for op := range matrix {
		if !seen[op] {
			t.Errorf("matrix row %s names no route", op)
		}
	}
}

// request is the path and body of one cell of the matrix.
func request(op string, fresh func(confirmed, begun bool) int64, s *server, who string, i int) (string, any) {
	appt := func(suffix string, confirmed, begun bool) string {
		return fmt.Sprintf("/api/v1/appointments/%d/%s", fresh(confirmed, begun), suffix)
	}
	switch op {
	case "GET /api/v1/appointments/internal/care/":
		return fmt.Sprintf("/api/v1/appointments/internal/care/?patient_id=%d&doctor_id=%d", s.Patient1, s.DoctorA), nil
	case "POST /api/v1/appointments/":
		at := time.Date(2026, 12, 20+i, 9, 0, 0, 0, bt.Clinic).Format(time.RFC3339)
		return "/api/v1/appointments/", map[string]any{"doctor_id": s.DoctorA, "appointment_time": at, "patient_id": s.Patient1}
	case "GET /api/v1/appointments/{id}/":
		return appt("", false, false), nil
	case "PUT /api/v1/appointments/{id}/", "PATCH /api/v1/appointments/{id}/":
		return appt("", false, false), map[string]any{"notes_doctor": "seen by " + who}
	case "PUT /api/v1/appointments/{id}/cancel/":
		return appt("cancel/", false, false), nil
	case "PUT /api/v1/appointments/{id}/confirm/":
		return appt("confirm/", false, false), nil
	case "PUT /api/v1/appointments/{id}/complete/":
		return appt("complete/", true, true), nil
	case "GET /api/v1/patients/{id}/appointments/":
		return fmt.Sprintf("/api/v1/patients/%d/appointments/", s.Patient1), nil
	case "GET /api/v1/doctors/{id}/appointments/":
		return fmt.Sprintf("/api/v1/doctors/%d/appointments/", s.DoctorA), nil
	case "GET /api/v1/doctors/{id}/availability/":
		return fmt.Sprintf("/api/v1/doctors/%d/availability/?date=2026-12-09", s.DoctorA), nil
	case "GET /api/v1/doctors/{id}/schedule/":
		return fmt.Sprintf("/api/v1/doctors/%d/schedule/", s.DoctorA), nil
	case "GET /api/v1/appointments/internal/dashboard/":
		return "/api/v1/appointments/internal/dashboard/", nil
	case "POST /api/v1/doctors/{id}/schedule/":
		return fmt.Sprintf("/api/v1/doctors/%d/schedule/", s.DoctorA), map[string]any{
			"day_of_week": 6, "start_time": "20:00", "end_time": "21:00", "valid_from": fmt.Sprintf("2027-01-%02d", i+1)}
	}
	panic("no request for " + op)
}

// regexpVars drops the patterns of path variables: {id:[0-9]+} → {id}.
func regexpVars(path string) string {
	return strings.ReplaceAll(path, ":[0-9]+}", "}")
}

// allDay gives doctor a schedule of 00:00-23:30 every day.
func allDay(s *server, doctor int64) {
	s.t.Helper()
	for d := range 7 {
		s.Require("schedule", s.as(doctor, http.MethodPost, fmt.Sprintf("/api/v1/doctors/%d/schedule/", doctor), map[string]any{
			"day_of_week": d, "start_time": "00:00", "end_time": "23:30", "valid_from": "2026-01-01",
		}), http.StatusCreated)
	}
}

// The README's API table is the one the router enforces.
func TestREADMECarriesTheAPITable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
}
