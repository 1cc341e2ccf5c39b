package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"hospital/lib/auth"
	bt "hospital/svc/appointment/booking/bookingtest"
)

func TestListsAreFilteredPaginatedAndPrivate(t *testing.T) {
	s := newServer(t, nil)
	s.WorkWeek(s.DoctorA)
	s.WorkWeek(s.DoctorB)
	for i, hh := range []string{"08:00", "08:30", "09:00"} {
		s.Require("book", s.book(s.Patient1, s.DoctorA, bt.Slot(i+1, hh)), http.StatusCreated)
	}
	b := s.Require("book B", s.book(s.Patient1, s.DoctorB, bt.Slot(1, "10:00")), http.StatusCreated)
	s.Require("book p2", s.book(s.Patient2, s.DoctorA, bt.Slot(1, "11:00")), http.StatusCreated)
	s.Require("confirm", s.as(s.DoctorB, "PUT", fmt.Sprintf("/api/v1/appointments/%d/confirm/", b.ID()), nil), http.StatusOK)

	list := func(path string, user int64) (int, []map[string]any, resp) {
		r := s.Require(path, s.as(user, "GET", path, nil), http.StatusOK)
		var page struct {
			Count   int              `json:"count"`
			Results []map[string]any `json:"results"`
		}
		_ = json.Unmarshal(r.Raw, &page)
		return page.Count, page.Results, r
	}
	p1 := fmt.Sprintf("/api/v1/patients/%d/appointments/", s.Patient1)
	if n, _, _ := list(p1, s.Patient1); n != 4 {
		t.Fatalf("patient1 sees %d", n)
	}
	n, res, r := list(p1+"?page_size=2", s.Patient1)
	if n != 4 || len(res) != 2 || r.Body["next"] == nil {
		t.Fatalf("page: %s", r.Raw)
	}
	s.Require("page past the end", s.as(s.Patient1, "GET", p1+"?page_size=2&page=3", nil), http.StatusNotFound)
	if n, _, _ := list(p1+"?status=CONFIRMED", s.Patient1); n != 1 {
		t.Fatalf("confirmed: %d", n)
	}
	if n, _, _ := list(p1+"?status=confirmed,PENDING", s.Patient1); n != 4 {
		t.Fatalf("confirmed or pending: %d", n)
	}
	if n, _, _ := list(p1+"?date=2026-12-08", s.Patient1); n != 2 {
		t.Fatalf("on the 8th: %d", n)
	}
	if n, _, _ := list(p1+"?date_from=2026-12-09&date_to=2026-12-10", s.Nurse); n != 2 {
		t.Fatalf("9th-10th: %d", n)
	}
	if n, _, _ := list(p1, s.DoctorB); n != 1 {
		t.Fatalf("doctor B sees %d of patient1's", n)
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/doctors/%d/appointments/?status=PENDING", s.DoctorA), s.DoctorA); n != 4 {
		t.Fatalf("doctor A pending: %d", n)
	}
	s.Require("other patient's list", s.as(s.Patient2, "GET", p1, nil), http.StatusForbidden)
	s.Require("other doctor's list", s.as(s.DoctorB, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/", s.DoctorA), nil), http.StatusForbidden)
	s.Require("patient reads doctor list", s.as(s.Patient1, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/", s.DoctorA), nil), http.StatusForbidden)
	s.Require("bad status", s.as(s.DoctorA, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/?status=DONE", s.DoctorA), nil), http.StatusBadRequest)
	s.Require("bad date", s.as(s.DoctorA, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/?date=12-08", s.DoctorA), nil), http.StatusBadRequest)
}

// Dates far outside the calendar the service works in are a 400, never a
// 500 (they used to overflow the database's DATETIME range).
func TestDatesOutOfRangeAreRefused(t *testing.T) {
	s := newServer(t, nil)
	s.WorkWeek(s.DoctorA)
	av := fmt.Sprintf("/api/v1/doctors/%d/availability/", s.DoctorA)
	pl := fmt.Sprintf("/api/v1/patients/%d/appointments/", s.Patient1)
	dl := fmt.Sprintf("/api/v1/doctors/%d/appointments/", s.DoctorA)
	for _, path := range []string{
		av + "?date=9999-12-31", av + "?date=0001-01-01",
		av + "?days_in_advance=91", av + "?days_in_advance=-1", av + "?days_in_advance=x", av + "?date=2026-13-01", av + "?date=tomorrow",
		pl + "?date_from=0001-01-01", pl + "?date_to=9999-12-31", pl + "?date=0001-01-01",
		dl + "?date_from=0001-01-01", dl + "?date_to=9999-12-31", dl + "?date=9999-12-31",
	} {
		r := s.Require(path, s.as(s.Admin, "GET", path, nil), http.StatusBadRequest)
		if r.Body["errors"] == nil {
			t.Errorf("%s: no per-field errors: %s", path, r.Raw)
		}
	}
	// The edges of the calendar still work.
	s.Require("availability 2200", s.as(s.Admin, "GET", av+"?date=2200-12-01&days_in_advance=30", nil), http.StatusOK)
	s.Require("list from 1900", s.as(s.Admin, "GET", pl+"?date_from=1900-01-01&date_to=2200-12-31", nil), http.StatusOK)
}

func TestMalformedRequestsAreRefused(t *testing.T) {
	s := newServer(t, nil)
	s.WorkWeek(s.DoctorA)
	for name, body := range map[string]any{
		"missing doctor":   map[string]any{"appointment_time": bt.Slot(1, "09:00")},
		"doctor as string": map[string]any{"doctor_id": "1001", "appointment_time": bt.Slot(1, "09:00")},
		"unknown field":    map[string]any{"doctor_id": s.DoctorA, "appointment_time": bt.Slot(1, "09:00"), "status": "CONFIRMED"},
		"not json":         "{doctor_id: 1}",
		"two objects":      `{"doctor_id": 1} {}`,
	} {
		s.Require(name, s.as(s.Patient1, "POST", "/api/v1/appointments/", body), http.StatusBadRequest)
	}
	a := s.Require("book", s.book(s.Patient1, s.DoctorA, bt.Slot(1, "09:00")), http.StatusCreated)
	path := fmt.Sprintf("/api/v1/appointments/%d/", a.ID())
	s.Require("unknown status", s.as(s.DoctorA, "PUT", path, map[string]any{"status": "COMPLETED"}), http.StatusBadRequest)
	s.Require("confirm with a body", s.as(s.DoctorA, "PUT", path+"confirm/", map[string]any{"status": "x"}), http.StatusBadRequest)
	s.Require("confirm with {}", s.as(s.DoctorA, "PUT", path+"confirm/", map[string]any{}), http.StatusOK)
	s.Require("not an id", s.as(s.Admin, "GET", "/api/v1/appointments/abc/", nil), http.StatusNotFound)
	s.Require("id too large", s.as(s.Admin, "GET", "/api/v1/appointments/99999999999999999999/", nil), http.StatusNotFound)
	s.Require("method", s.as(s.Admin, "DELETE", path, nil), http.StatusMethodNotAllowed)
	if n := s.Count(`SELECT COUNT(*) FROM appointments`); n != 1 {
		t.Fatalf("appointments: %d, want 1", n)
	}
}

// The domain's shared error values are never written into: concurrent
// refusals each name their own request.
func TestRefusalsNameTheirOwnRequest(t *testing.T) {
	s := newServer(t, nil)
	s.WorkWeek(s.DoctorA)
	a := s.Require("book", s.book(s.Patient1, s.DoctorA, bt.Slot(1, "09:00")), http.StatusCreated)
	paths := []string{
		fmt.Sprintf("/api/v1/appointments/%d/", a.ID()),
		fmt.Sprintf("/api/v1/patients/%d/appointments/", s.Patient1),
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := paths[i%2]
			r := s.Do("GET", path, s.Token(s.user(s.Patient2)), nil)
			if r.Status != http.StatusForbidden || r.Str("instance") != path {
				t.Errorf("%s: %d, instance %q", path, r.Status, r.Str("instance"))
			}
		}()
	}
	wg.Wait()
}

// The dashboard's figures are the admin service's only.
func TestDashboardFiguresForTheAdminService(t *testing.T) {
	s := newServer(t, nil)
	r := s.Do(http.MethodGet, "/api/v1/appointments/internal/dashboard/", s.Token(auth.Identity{Role: auth.RoleService, Service: "admin"}), nil)
	s.Require("dashboard as admin", r, http.StatusOK)
	if r.Body["appointments_today"] != 0.0 || r.Str("day") != "2026-12-07" {
		t.Errorf("figures %s", r.Raw)
	}
	s.Require("as billing", s.Do(http.MethodGet, "/api/v1/appointments/internal/dashboard/",
		s.Token(auth.Identity{Role: auth.RoleService, Service: "billing"}), nil), http.StatusForbidden)
}
