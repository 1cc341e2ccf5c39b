package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	bt "hospital/svc/appointment/booking/bookingtest"
)

func TestListsAreFilteredPaginatedAndPrivate(t *testing.T) {
	s := newServer(t, nil)
	s.WorkWeek(s.DoctorA)
	s.WorkWeek(s.DoctorB)
	for i, hh := range []string{"08:00", "08:30", "09:00"} {
		s.expect("book", s.book(s.Patient1, s.DoctorA, bt.Slot(i+1, hh)), http.StatusCreated)
	}
	b := s.expect("book B", s.book(s.Patient1, s.DoctorB, bt.Slot(1, "10:00")), http.StatusCreated)
	s.expect("book p2", s.book(s.Patient2, s.DoctorA, bt.Slot(1, "11:00")), http.StatusCreated)
	s.expect("confirm", s.as(s.DoctorB, "PUT", fmt.Sprintf("/api/v1/appointments/%d/confirm/", b.id()), nil), http.StatusOK)

	list := func(path string, user int64) (int, []map[string]any, resp) {
		r := s.expect(path, s.as(user, "GET", path, nil), http.StatusOK)
		var page struct {
			Count   int              `json:"count"`
			Results []map[string]any `json:"results"`
		}
		_ = json.Unmarshal(r.raw, &page)
		return page.Count, page.Results, r
	}
	p1 := fmt.Sprintf("/api/v1/patients/%d/appointments/", s.Patient1)
	if n, _, _ := list(p1, s.Patient1); n != 4 {
		t.Fatalf("patient1 sees %d", n)
	}
	n, res, r := list(p1+"?page_size=2", s.Patient1)
	if n != 4 || len(res) != 2 || r.body["next"] == nil {
		t.Fatalf("page: %s", r.raw)
	}
	s.expect("page past the end", s.as(s.Patient1, "GET", p1+"?page_size=2&page=3", nil), http.StatusNotFound)
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
	s.expect("other patient's list", s.as(s.Patient2, "GET", p1, nil), http.StatusForbidden)
	s.expect("other doctor's list", s.as(s.DoctorB, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/", s.DoctorA), nil), http.StatusForbidden)
	s.expect("patient reads doctor list", s.as(s.Patient1, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/", s.DoctorA), nil), http.StatusForbidden)
	s.expect("bad status", s.as(s.DoctorA, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/?status=DONE", s.DoctorA), nil), http.StatusBadRequest)
	s.expect("bad date", s.as(s.DoctorA, "GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/?date=12-08", s.DoctorA), nil), http.StatusBadRequest)
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
		r := s.expect(path, s.as(s.Admin, "GET", path, nil), http.StatusBadRequest)
		if r.body["errors"] == nil {
			t.Errorf("%s: no per-field errors: %s", path, r.raw)
		}
	}
	// The edges of the calendar still work.
	s.expect("availability 2200", s.as(s.Admin, "GET", av+"?date=2200-12-01&days_in_advance=30", nil), http.StatusOK)
	s.expect("list from 1900", s.as(s.Admin, "GET", pl+"?date_from=1900-01-01&date_to=2200-12-31", nil), http.StatusOK)
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
		s.expect(name, s.as(s.Patient1, "POST", "/api/v1/appointments/", body), http.StatusBadRequest)
	}
	a := s.expect("book", s.book(s.Patient1, s.DoctorA, bt.Slot(1, "09:00")), http.StatusCreated)
	path := fmt.Sprintf("/api/v1/appointments/%d/", a.id())
	s.expect("unknown status", s.as(s.DoctorA, "PUT", path, map[string]any{"status": "COMPLETED"}), http.StatusBadRequest)
	s.expect("confirm with a body", s.as(s.DoctorA, "PUT", path+"confirm/", map[string]any{"status": "x"}), http.StatusBadRequest)
	s.expect("confirm with {}", s.as(s.DoctorA, "PUT", path+"confirm/", map[string]any{}), http.StatusOK)
	s.expect("not an id", s.as(s.Admin, "GET", "/api/v1/appointments/abc/", nil), http.StatusNotFound)
	s.expect("id too large", s.as(s.Admin, "GET", "/api/v1/appointments/99999999999999999999/", nil), http.StatusNotFound)
	s.expect("method", s.as(s.Admin, "DELETE", path, nil), http.StatusMethodNotAllowed)
	if n := s.Count(`SELECT COUNT(*) FROM appointments`); n != 1 {
		t.Fatalf("appointments: %d, want 1", n)
	}
}

// The domain's shared error values are never written into: concurrent
// refusals each name their own request.
func TestRefusalsNameTheirOwnRequest(t *testing.T) {
	s := newServer(t, nil)
	s.WorkWeek(s.DoctorA)
	a := s.expect("book", s.book(s.Patient1, s.DoctorA, bt.Slot(1, "09:00")), http.StatusCreated)
	paths := []string{
		fmt.Sprintf("/api/v1/appointments/%d/", a.id()),
		fmt.Sprintf("/api/v1/patients/%d/appointments/", s.Patient1),
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := paths[i%2]
			r := s.do("GET", path, s.token(s.user(s.Patient2)), nil)
			if r.status != http.StatusForbidden || r.str("instance") != path {
				t.Errorf("%s: %d, instance %q", path, r.status, r.str("instance"))
			}
		}()
	}
	wg.Wait()
}
