package appointment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"hospital/lib/outbox"
	"hospital/lib/testkit"
	"hospital/svc/appointment/appointment"
)

func outboxBody(t *testing.T, e *env, key string) (outbox.Record, map[string]any) {
	t.Helper()
	rec, err := outbox.Get(context.Background(), e.db, key)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		t.Fatal(err)
	}
	return rec, body
}

func TestLifecycleAndSideEffects(t *testing.T) {
	e := newEnv(t)
	e.workWeek(e.doctorA)
	// Saving the same entry again updates it.
	r := e.expect("schedule update", e.do("POST", fmt.Sprintf("/api/v1/doctors/%d/schedule/", e.doctorA), e.doctorA, map[string]any{
		"day_of_week": 1, "start_time": "08:00", "end_time": "11:00", "valid_from": "2026-01-01", "is_available": true,
	}), http.StatusOK)
	if r.str("end_time") != "11:00:00" {
		t.Fatalf("updated entry: %s", r.raw)
	}
	e.expect("other doctor's schedule", e.do("POST", fmt.Sprintf("/api/v1/doctors/%d/schedule/", e.doctorA), e.doctorB, map[string]any{
		"day_of_week": 1, "start_time": "08:00", "end_time": "11:00", "valid_from": "2026-01-01",
	}), http.StatusForbidden)
	e.expect("patient reads schedule", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/schedule/", e.doctorA), e.patient1, nil), http.StatusForbidden)
	var sched []map[string]any
	_ = json.Unmarshal(e.expect("schedule", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/schedule/", e.doctorA), e.admin, nil), http.StatusOK).raw, &sched)
	if len(sched) != 7 {
		t.Fatalf("schedule entries: %d", len(sched))
	}

	// Availability: today from noon on nothing is left; tomorrow (Tuesday) 08:00-11:00 = 6 slots.
	var av appointment.Availability
	raw := e.expect("availability", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/availability/?date=2026-12-07&days_in_advance=1", e.doctorA), e.patient1, nil), http.StatusOK).raw
	if err := json.Unmarshal(raw, &av); err != nil {
		t.Fatal(err)
	}
	if len(av.Days) != 2 || len(av.Days[0].Slots) != 0 || len(av.Days[1].Slots) != 6 || av.TimeZone != "Asia/Ho_Chi_Minh" {
		t.Fatalf("availability: %s", raw)
	}
	if got := av.Days[1].Slots[0].StartTime.Format(time.RFC3339); got != "2026-12-08T01:00:00Z" {
		t.Fatalf("first slot %s", got)
	}

	at := slot(1, "09:00")
	a := e.expect("book", e.book(e.patient1, e.doctorA, at), http.StatusCreated)
	id := a.id()
	if a.str("status") != "PENDING" || a.str("appointment_time") != "2026-12-08T02:00:00Z" || a.body["duration_minutes"].(float64) != 30 {
		t.Fatalf("booked: %s", a.raw)
	}
	for key, want := range map[string]struct {
		typ       string
		recipient int64
	}{
		fmt.Sprintf("appointment-requested-patient:%d", id): {"APPOINTMENT_REQUESTED_PATIENT", e.patient1},
		fmt.Sprintf("appointment-requested-doctor:%d", id):  {"APPOINTMENT_REQUESTED_DOCTOR", e.doctorA},
	} {
		rec, body := outboxBody(t, e, key)
		data, _ := body["data"].(map[string]any)
		if rec.Service != "notification" || rec.Path != "/api/v1/notifications/send/" || body["notification_type"] != want.typ ||
			int64(body["recipient_id"].(float64)) != want.recipient || data["appointment_time"] != "2026-12-08 09:00" ||
			data["patient_name"] != "Nguyen Van A" || data["doctor_name"] != "Tran Thi B" {
			t.Fatalf("%s: %+v %s", key, rec, rec.Body)
		}
	}
	if e.kicks.Load() == 0 {
		t.Fatal("dispatcher not kicked after booking")
	}

	path := fmt.Sprintf("/api/v1/appointments/%d/", id)
	e.expect("other patient reads", e.do("GET", path, e.patient2, nil), http.StatusForbidden)
	e.expect("other doctor reads", e.do("GET", path, e.doctorB, nil), http.StatusForbidden)
	e.expect("own patient reads", e.do("GET", path, e.patient1, nil), http.StatusOK)
	e.expect("nurse reads", e.do("GET", path, e.nurse, nil), http.StatusOK)
	e.expect("anonymous", e.do("GET", path, 0, nil), http.StatusUnauthorized)
	e.expect("missing", e.do("GET", "/api/v1/appointments/999999/", e.admin, nil), http.StatusNotFound)

	e.expect("patient confirms", e.do("PUT", path+"confirm/", e.patient1, nil), http.StatusForbidden)
	e.expect("other doctor confirms", e.do("PUT", path+"confirm/", e.doctorB, nil), http.StatusForbidden)
	e.expect("complete before confirm", e.do("PUT", path+"complete/", e.doctorA, nil), http.StatusConflict)
	c := e.expect("confirm", e.do("PUT", path+"confirm/", e.doctorA, nil), http.StatusOK)
	if c.str("status") != "CONFIRMED" {
		t.Fatalf("confirm: %s", c.raw)
	}
	e.expect("confirm twice", e.do("PUT", path+"confirm/", e.doctorA, nil), http.StatusConflict)
	if _, body := outboxBody(t, e, fmt.Sprintf("appointment-confirmed-patient:%d", id)); body["notification_type"] != "APPOINTMENT_CONFIRMED_PATIENT" {
		t.Fatalf("confirmed message: %v", body)
	}

	u := e.expect("doctor notes", e.do("PUT", path, e.doctorA, map[string]any{"notes_doctor": "BP 120/80"}), http.StatusOK)
	if u.str("notes_doctor") != "BP 120/80" || u.str("status") != "CONFIRMED" {
		t.Fatalf("update: %s", u.raw)
	}
	e.expect("patient writes notes", e.do("PUT", path, e.patient1, map[string]any{"notes_doctor": "x"}), http.StatusForbidden)
	e.expect("unknown field", e.do("PUT", path, e.doctorA, map[string]any{"status": "COMPLETED"}), http.StatusBadRequest)
	e.expect("no show too early", e.do("PUT", path, e.doctorA, map[string]any{"status": "NO_SHOW"}), http.StatusConflict)

	done := e.expect("complete", e.do("PUT", path+"complete/", e.doctorA, nil), http.StatusOK)
	if done.str("status") != "COMPLETED" {
		t.Fatalf("complete: %s", done.raw)
	}
	rec, ehr := outboxBody(t, e, fmt.Sprintf("appointment-ehr-link:%d", id))
	if rec.Service != "ehr" || rec.Path != fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.patient1) ||
		ehr["appointment_time"] != "2026-12-08T02:00:00Z" || int64(ehr["doctor_id"].(float64)) != e.doctorA || rec.Status != outbox.StatusPending {
		t.Fatalf("ehr: %+v %s", rec, rec.Body)
	}
	rec, bill := outboxBody(t, e, fmt.Sprintf("appointment-invoice:%d", id))
	if rec.Service != "billing" || rec.Path != "/api/v1/billing/internal/create-invoice-for-appointment/" ||
		bill["amount"] != "150000.00" || bill["service_description"] != "Consultation" || int64(bill["patient_id"].(float64)) != e.patient1 {
		t.Fatalf("billing: %+v %s", rec, rec.Body)
	}
	e.expect("cancel completed", e.do("PUT", path+"cancel/", e.patient1, nil), http.StatusConflict)
	e.expect("complete twice", e.do("PUT", path+"complete/", e.doctorA, nil), http.StatusConflict)
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages`); n != 5 {
		t.Fatalf("outbox messages: %d, want 5", n)
	}
}

func TestConcurrentBookingsOfOneSlot(t *testing.T) {
	e := newEnv(t)
	e.workWeek(e.doctorA)
	at := slot(2, "10:30")
	// Fifty patients of the user service book the same slot at once.
	statuses := make([]int, len(e.many))
	var wg sync.WaitGroup
	for i := range e.many {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.book(e.many[i], e.doctorA, at).status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != len(e.many)-1 {
		t.Fatalf("statuses: %v", count)
	}
	if n := e.count(`SELECT COUNT(*) FROM appointments WHERE doctor_id = ? AND active_slot IS NOT NULL`, e.doctorA); n != 1 {
		t.Fatalf("active appointments: %d", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages`); n != 2 {
		t.Fatalf("outbox: %d", n)
	}
}

func TestCancelFreesTheSlotAndOverlapsAreRefused(t *testing.T) {
	e := newEnv(t)
	e.workWeek(e.doctorA)
	e.workWeek(e.doctorB)
	at := slot(1, "08:30")
	a := e.expect("book", e.book(e.patient1, e.doctorA, at), http.StatusCreated)
	e.expect("same slot again", e.book(e.patient2, e.doctorA, at), http.StatusConflict)
	e.expect("patient double-booked with another doctor", e.book(e.patient1, e.doctorB, at), http.StatusConflict)

	path := fmt.Sprintf("/api/v1/appointments/%d/", a.id())
	e.expect("other patient cancels", e.do("PUT", path+"cancel/", e.patient2, nil), http.StatusForbidden)
	c := e.expect("cancel", e.do("PUT", path+"cancel/", e.patient1, nil), http.StatusOK)
	if c.str("status") != "CANCELLED_PATIENT" {
		t.Fatalf("cancel: %s", c.raw)
	}
	e.expect("cancel twice", e.do("PUT", path+"cancel/", e.patient1, nil), http.StatusConflict)
	e.expect("confirm cancelled", e.do("PUT", path+"confirm/", e.doctorA, nil), http.StatusConflict)

	var av appointment.Availability
	_ = json.Unmarshal(e.expect("availability", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/availability/?date=2026-12-08", e.doctorA), e.patient2, nil), http.StatusOK).raw, &av)
	found := false
	for _, s := range av.Days[0].Slots {
		found = found || s.StartTime.Format(time.RFC3339) == "2026-12-08T01:30:00Z"
	}
	if !found {
		t.Fatalf("cancelled slot not free again: %+v", av)
	}
	b := e.expect("rebook freed slot", e.book(e.patient2, e.doctorA, at), http.StatusCreated)
	// The doctor cancels the new one: CANCELLED_DOCTOR.
	d := e.expect("doctor cancels", e.do("PUT", fmt.Sprintf("/api/v1/appointments/%d/cancel/", b.id()), e.doctorA, nil), http.StatusOK)
	if d.str("status") != "CANCELLED_DOCTOR" {
		t.Fatalf("doctor cancel: %s", d.raw)
	}

	// NO_SHOW once the time has passed; cancel is then refused.
	n := e.expect("book", e.book(e.patient1, e.doctorB, slot(1, "11:00")), http.StatusCreated)
	np := fmt.Sprintf("/api/v1/appointments/%d/", n.id())
	e.expect("confirm", e.do("PUT", np+"confirm/", e.nurse, nil), http.StatusOK)
	e.clock.Advance(48 * time.Hour)
	e.expect("cancel after start", e.do("PUT", np+"cancel/", e.patient1, nil), http.StatusConflict)
	ns := e.expect("no show", e.do("PUT", np, e.doctorB, map[string]any{"status": "NO_SHOW"}), http.StatusOK)
	if ns.str("status") != "NO_SHOW" {
		t.Fatalf("no show: %s", ns.raw)
	}
}

func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.workWeek(e.doctorA)
	// The deactivated doctor keeps a schedule: only the user service refuses them.
	e.workWeek(e.inactiveDoctor)
	cases := map[string]any{
		"past":                map[string]any{"doctor_id": e.doctorA, "appointment_time": slot(-1, "09:00")},
		"earlier today":       map[string]any{"doctor_id": e.doctorA, "appointment_time": slot(0, "09:00")},
		"off the grid":        map[string]any{"doctor_id": e.doctorA, "appointment_time": slot(1, "09:10")},
		"outside hours":       map[string]any{"doctor_id": e.doctorA, "appointment_time": slot(1, "13:00")},
		"seconds":             map[string]any{"doctor_id": e.doctorA, "appointment_time": "2026-12-08T02:00:30Z"},
		"unknown doctor":      map[string]any{"doctor_id": 424242, "appointment_time": slot(1, "09:00")},
		"not a doctor":        map[string]any{"doctor_id": e.nurse, "appointment_time": slot(1, "09:00")},
		"inactive doctor":     map[string]any{"doctor_id": e.inactiveDoctor, "appointment_time": slot(1, "09:00")},
		"doctor without plan": map[string]any{"doctor_id": e.doctorB, "appointment_time": slot(1, "09:00")},
		"malformed date":      map[string]any{"doctor_id": e.doctorA, "appointment_time": "08/12/2026 09:00"},
		"date only":           map[string]any{"doctor_id": e.doctorA, "appointment_time": "2026-12-08"},
		"missing doctor":      map[string]any{"appointment_time": slot(1, "09:00")},
		"doctor as string":    map[string]any{"doctor_id": "1001", "appointment_time": slot(1, "09:00")},
		"unknown field":       map[string]any{"doctor_id": e.doctorA, "appointment_time": slot(1, "09:00"), "status": "CONFIRMED"},
		"not json":            "{doctor_id: 1}",
	}
	for name, body := range cases {
		r := e.expect(name, e.do("POST", "/api/v1/appointments/", e.patient1, body), http.StatusBadRequest)
		// The user service refuses these doctors, not their (missing) schedule.
		if errs, _ := r.body["errors"].(map[string]any); (name == "unknown doctor" || name == "not a doctor" || name == "inactive doctor") && errs["doctor_id"] == nil {
			t.Fatalf("%s: no doctor_id error: %s", name, r.raw)
		}
	}
	e.expect("book for someone else", e.do("POST", "/api/v1/appointments/", e.patient1, map[string]any{
		"doctor_id": e.doctorA, "appointment_time": slot(1, "09:00"), "patient_id": e.patient2}), http.StatusForbidden)
	e.expect("doctor books", e.book(e.doctorB, e.doctorA, slot(1, "09:00")), http.StatusForbidden)
	e.expect("nurse without patient_id", e.book(e.nurse, e.doctorA, slot(1, "09:00")), http.StatusBadRequest)
	for name, patient := range map[string]int64{"inactive patient": e.inactivePatient, "not a patient": e.doctorB, "unknown patient": 424242} {
		r := e.expect("nurse books for "+name, e.do("POST", "/api/v1/appointments/", e.nurse, map[string]any{
			"doctor_id": e.doctorA, "appointment_time": slot(1, "09:00"), "patient_id": patient}), http.StatusBadRequest)
		if errs, _ := r.body["errors"].(map[string]any); errs["patient_id"] == nil {
			t.Fatalf("nurse books for %s: no patient_id error: %s", name, r.raw)
		}
	}
	for _, q := range []string{"?date=2026-13-01", "?date=tomorrow", "?days_in_advance=-1", "?days_in_advance=1000", "?days_in_advance=x"} {
		e.expect("availability "+q, e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/availability/%s", e.doctorA, q), e.patient1, nil), http.StatusBadRequest)
	}
	for name, body := range map[string]any{
		"end before start": map[string]any{"day_of_week": 0, "start_time": "12:00", "end_time": "08:00", "valid_from": "2026-01-01"},
		"bad day":          map[string]any{"day_of_week": 7, "start_time": "08:00", "end_time": "12:00", "valid_from": "2026-01-01"},
		"bad time":         map[string]any{"day_of_week": 1, "start_time": "8am", "end_time": "12:00", "valid_from": "2026-01-01"},
		"bad valid_to":     map[string]any{"day_of_week": 1, "start_time": "08:00", "end_time": "12:00", "valid_from": "2026-01-01", "valid_to": "2025-01-01"},
	} {
		e.expect("schedule "+name, e.do("POST", fmt.Sprintf("/api/v1/doctors/%d/schedule/", e.doctorA), e.doctorA, body), http.StatusBadRequest)
	}
	if n := e.count(`SELECT COUNT(*) FROM appointments`); n != 0 {
		t.Fatalf("appointments written: %d", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages`); n != 0 {
		t.Fatalf("outbox written: %d", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM doctor_schedules`); n != 14 {
		t.Fatalf("schedules: %d", n)
	}
	// Staff book on a patient's behalf.
	r := e.expect("nurse books", e.do("POST", "/api/v1/appointments/", e.nurse, map[string]any{
		"doctor_id": e.doctorA, "appointment_time": slot(1, "09:00"), "patient_id": e.patient2}), http.StatusCreated)
	if int64(r.body["patient_id"].(float64)) != e.patient2 {
		t.Fatalf("nurse booking: %s", r.raw)
	}
}

func TestListsAreFilteredPaginatedAndPrivate(t *testing.T) {
	e := newEnv(t)
	e.workWeek(e.doctorA)
	e.workWeek(e.doctorB)
	for i, hh := range []string{"08:00", "08:30", "09:00"} {
		e.expect("book", e.book(e.patient1, e.doctorA, slot(i+1, hh)), http.StatusCreated)
	}
	b := e.expect("book B", e.book(e.patient1, e.doctorB, slot(1, "10:00")), http.StatusCreated)
	e.expect("book p2", e.book(e.patient2, e.doctorA, slot(1, "11:00")), http.StatusCreated)
	e.expect("confirm", e.do("PUT", fmt.Sprintf("/api/v1/appointments/%d/confirm/", b.id()), e.doctorB, nil), http.StatusOK)

	list := func(path string, user int64) (int, []map[string]any, resp) {
		r := e.expect(path, e.do("GET", path, user, nil), http.StatusOK)
		var page struct {
			Count   int              `json:"count"`
			Results []map[string]any `json:"results"`
		}
		_ = json.Unmarshal(r.raw, &page)
		return page.Count, page.Results, r
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/patients/%d/appointments/", e.patient1), e.patient1); n != 4 {
		t.Fatalf("patient1 sees %d", n)
	}
	n, res, r := list(fmt.Sprintf("/api/v1/patients/%d/appointments/?page_size=2", e.patient1), e.patient1)
	if n != 4 || len(res) != 2 || r.body["next"] == nil {
		t.Fatalf("page: %s", r.raw)
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/patients/%d/appointments/?status=CONFIRMED", e.patient1), e.patient1); n != 1 {
		t.Fatalf("confirmed: %d", n)
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/patients/%d/appointments/?date=2026-12-08", e.patient1), e.patient1); n != 2 {
		t.Fatalf("on the 8th: %d", n)
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/patients/%d/appointments/?date_from=2026-12-09&date_to=2026-12-10", e.patient1), e.nurse); n != 2 {
		t.Fatalf("9th-10th: %d", n)
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/patients/%d/appointments/", e.patient1), e.doctorB); n != 1 {
		t.Fatalf("doctor B sees %d of patient1's", n)
	}
	if n, _, _ := list(fmt.Sprintf("/api/v1/doctors/%d/appointments/?status=PENDING", e.doctorA), e.doctorA); n != 4 {
		t.Fatalf("doctor A pending: %d", n)
	}
	e.expect("other patient's list", e.do("GET", fmt.Sprintf("/api/v1/patients/%d/appointments/", e.patient1), e.patient2, nil), http.StatusForbidden)
	e.expect("other doctor's list", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/", e.doctorA), e.doctorB, nil), http.StatusForbidden)
	e.expect("patient reads doctor list", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/", e.doctorA), e.patient1, nil), http.StatusForbidden)
	e.expect("bad status", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/?status=DONE", e.doctorA), e.doctorA, nil), http.StatusBadRequest)
	e.expect("bad date", e.do("GET", fmt.Sprintf("/api/v1/doctors/%d/appointments/?date=12-08", e.doctorA), e.doctorA, nil), http.StatusBadRequest)
}

// Two instances compete for the reminder lock in a real Consul; each
// CONFIRMED appointment inside the window is reminded exactly once, including
// one whose window opened while no instance ran.
func TestRemindersOncePerAppointmentWithTwoInstances(t *testing.T) {
	e := newEnv(t)
	e.workWeek(e.doctorA)
	soon := e.expect("book", e.book(e.patient1, e.doctorA, slot(1, "08:00")), http.StatusCreated) // 20h away
	later := e.expect("book", e.book(e.patient2, e.doctorA, slot(3, "08:00")), http.StatusCreated)
	pending := e.expect("book", e.book(e.many[1], e.doctorA, slot(1, "08:30")), http.StatusCreated)
	for _, id := range []int64{soon.id(), later.id()} {
		e.expect("confirm", e.do("PUT", fmt.Sprintf("/api/v1/appointments/%d/confirm/", id), e.doctorA, nil), http.StatusOK)
	}
	c := testkit.StartConsul(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	leaders, maxLeaders := 0, 0
	onLeader := func(on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			leaders++
		} else {
			leaders--
		}
		maxLeaders = max(maxLeaders, leaders)
	}
	var wg sync.WaitGroup
	for range 2 {
		r := &appointment.Reminders{Service: e.svc, Consul: c.Client, Before: 24 * time.Hour, Interval: 50 * time.Millisecond, OnLeader: onLeader}
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	reminders := func() int {
		return e.count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'appointment-reminder-%'`)
	}
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		if n := reminders(); n != 2 {
			return fmt.Errorf("%d reminder messages", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two days pass: the later appointment enters the window.
	e.clock.Advance(48 * time.Hour)
	err = testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		if n := reminders(); n != 4 {
			return fmt.Errorf("%d reminder messages", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// More passes find nothing new.
	r := &appointment.Reminders{Service: e.svc, Before: 24 * time.Hour}
	if n, err := r.Pass(context.Background()); err != nil || n != 0 {
		t.Fatalf("extra pass: %d %v", n, err)
	}
	cancel()
	wg.Wait()
	for _, key := range []string{
		fmt.Sprintf("appointment-reminder-patient:%d", soon.id()), fmt.Sprintf("appointment-reminder-doctor:%d", soon.id()),
		fmt.Sprintf("appointment-reminder-patient:%d", later.id()), fmt.Sprintf("appointment-reminder-doctor:%d", later.id()),
	} {
		outboxBody(t, e, key)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE ?`, fmt.Sprintf("appointment-reminder-%%:%d", pending.id())); n != 0 {
		t.Fatal("a PENDING appointment was reminded")
	}
	if maxLeaders != 1 {
		t.Fatalf("at most one leader expected, saw %d at once", maxLeaders)
	}
}
