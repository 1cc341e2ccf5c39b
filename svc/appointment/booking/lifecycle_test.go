package booking_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"hospital/lib/outbox"
	"hospital/lib/testkit"
	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

func str(p string) *string { return &p }

func TestLifecycleAndSideEffects(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	// Saving the same entry again updates it.
	day := 1
	entry, created, err := e.Svc.SaveSchedule(e.As(e.DoctorA), e.DoctorA, booking.ScheduleRequest{
		DayOfWeek: &day, StartTime: "08:00", EndTime: "11:00", ValidFrom: "2026-01-01"})
	if err != nil || created || entry.EndTime != "11:00:00" {
		t.Fatalf("schedule update: %+v created=%v %v", entry, created, err)
	}
	_, _, err = e.Svc.SaveSchedule(e.As(e.DoctorB), e.DoctorA, booking.ScheduleRequest{
		DayOfWeek: &day, StartTime: "08:00", EndTime: "11:00", ValidFrom: "2026-01-01"})
	e.Expect("other doctor's schedule", err, http.StatusForbidden)
	_, err = e.Svc.Schedule(e.As(e.Patient1), e.DoctorA)
	e.Expect("patient reads schedule", err, http.StatusForbidden)
	if sched, err := e.Svc.Schedule(e.As(e.Admin), e.DoctorA); err != nil || len(sched) != 7 {
		t.Fatalf("schedule entries: %d %v", len(sched), err)
	}

	// Availability: today from noon on nothing is left; tomorrow (Tuesday) 08:00-11:00 = 6 slots.
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, bt.Clinic)
	av, err := e.Svc.Availability(e.As(e.Patient1), e.DoctorA, booking.AvailabilityQuery{Date: &today, DaysInAdvance: 1})
	if err != nil || len(av.Days) != 2 || len(av.Days[0].Slots) != 0 || len(av.Days[1].Slots) != 6 || av.TimeZone != "Asia/Ho_Chi_Minh" {
		t.Fatalf("availability: %+v %v", av, err)
	}
	if got := av.Days[1].Slots[0].StartTime.Format(time.RFC3339); got != "2026-12-08T01:00:00Z" {
		t.Fatalf("first slot %s", got)
	}

	a, err := e.Book(e.Patient1, e.DoctorA, bt.Slot(1, "09:00"))
	if err != nil || a.Status != booking.StatusPending || a.AppointmentTime.Format(time.RFC3339) != "2026-12-08T02:00:00Z" || a.DurationMinutes != 30 {
		t.Fatalf("booked: %+v %v", a, err)
	}
	for key, want := range map[string]struct {
		typ       string
		recipient int64
	}{
		fmt.Sprintf("appointment-requested-patient:%d", a.ID): {"APPOINTMENT_REQUESTED_PATIENT", e.Patient1},
		fmt.Sprintf("appointment-requested-doctor:%d", a.ID):  {"APPOINTMENT_REQUESTED_DOCTOR", e.DoctorA},
	} {
		rec, body := e.Message(key)
		data, _ := body["data"].(map[string]any)
		if rec.Service != "notification" || rec.Path != "/api/v1/notifications/send/" || body["notification_type"] != want.typ ||
			int64(body["recipient_id"].(float64)) != want.recipient || body["channel"] != "EMAIL" || data["appointment_time"] != "2026-12-08 09:00" ||
			data["patient_name"] != "Nguyen Van A" || data["doctor_name"] != "Tran Thi B" {
			t.Fatalf("%s: %+v %s", key, rec, rec.Body)
		}
	}
	if e.Kicks.Load() == 0 {
		t.Fatal("dispatcher not kicked after booking")
	}

	e.Expect("other patient reads", get(e, e.Patient2, a.ID), http.StatusForbidden)
	e.Expect("other doctor reads", get(e, e.DoctorB, a.ID), http.StatusForbidden)
	e.Expect("own patient reads", get(e, e.Patient1, a.ID), http.StatusOK)
	e.Expect("nurse reads", get(e, e.Nurse, a.ID), http.StatusOK)
	e.Expect("missing", get(e, e.Admin, 999999), http.StatusNotFound)

	_, err = e.Svc.Confirm(e.As(e.Patient1), a.ID)
	e.Expect("patient confirms", err, http.StatusForbidden)
	_, err = e.Svc.Confirm(e.As(e.DoctorB), a.ID)
	e.Expect("other doctor confirms", err, http.StatusForbidden)
	_, err = e.Svc.Complete(e.As(e.DoctorA), a.ID)
	e.Expect("complete before confirm", err, http.StatusConflict)
	c, err := e.Svc.Confirm(e.As(e.DoctorA), a.ID)
	if err != nil || c.Status != booking.StatusConfirmed {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	_, err = e.Svc.Confirm(e.As(e.DoctorA), a.ID)
	e.Expect("confirm twice", err, http.StatusConflict)
	if _, body := e.Message(fmt.Sprintf("appointment-confirmed-patient:%d", a.ID)); body["notification_type"] != "APPOINTMENT_CONFIRMED_PATIENT" {
		t.Fatalf("confirmed message: %v", body)
	}

	u, err := e.Svc.Update(e.As(e.DoctorA), a.ID, booking.UpdateRequest{NotesDoctor: str("BP 120/80")})
	if err != nil || u.NotesDoctor != "BP 120/80" || u.Status != booking.StatusConfirmed {
		t.Fatalf("update: %+v %v", u, err)
	}
	_, err = e.Svc.Update(e.As(e.Patient1), a.ID, booking.UpdateRequest{NotesDoctor: str("x")})
	e.Expect("patient writes notes", err, http.StatusForbidden)
	_, err = e.Svc.Update(e.As(e.DoctorA), a.ID, booking.UpdateRequest{})
	e.Expect("nothing to update", err, http.StatusBadRequest)
	_, err = e.Svc.Update(e.As(e.DoctorA), a.ID, booking.UpdateRequest{Status: str(booking.StatusNoShow)})
	e.Expect("no show too early", err, http.StatusConflict)

	// Not before the appointment has started.
	_, err = e.Svc.Complete(e.As(e.DoctorA), a.ID)
	e.Expect("complete before the start", err, http.StatusConflict)
	if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service IN ('ehr', 'billing')`); n != 0 {
		t.Fatalf("early completion told EHR or Billing: %d messages", n)
	}
	e.Clock.Advance(21*time.Hour + 5*time.Minute) // Tuesday 09:05, five minutes into the appointment
	done, err := e.Svc.Complete(e.As(e.DoctorA), a.ID)
	if err != nil || done.Status != booking.StatusCompleted {
		t.Fatalf("complete: %+v %v", done, err)
	}
	rec, ehr := e.Message(fmt.Sprintf("appointment-ehr-link:%d", a.ID))
	if rec.Service != "ehr" || rec.Path != fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", e.Patient1) ||
		ehr["appointment_time"] != "2026-12-08T02:00:00Z" || int64(ehr["doctor_id"].(float64)) != e.DoctorA || rec.Status != outbox.StatusPending {
		t.Fatalf("ehr: %+v %s", rec, rec.Body)
	}
	rec, bill := e.Message(fmt.Sprintf("appointment-invoice:%d", a.ID))
	if rec.Service != "billing" || rec.Path != "/api/v1/billing/internal/create-invoice-for-appointment/" ||
		bill["amount"] != "150000.00" || bill["service_description"] != "Consultation" || int64(bill["patient_id"].(float64)) != e.Patient1 {
		t.Fatalf("billing: %+v %s", rec, rec.Body)
	}
	_, err = e.Svc.Cancel(e.As(e.Patient1), a.ID)
	e.Expect("cancel completed", err, http.StatusConflict)
	_, err = e.Svc.Complete(e.As(e.DoctorA), a.ID)
	e.Expect("complete twice", err, http.StatusConflict)
	if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service <> 'admin'`); n != 5 {
		t.Fatalf("outbox messages to services: %d, want 5", n)
	}
	// Every change and every read of the patient's data is in the audit log.
	for action, want := range map[string]int{"appointment.book": 1, "appointment.read": 2, "appointment.confirm": 1,
		"appointment.update": 1, "appointment.complete": 1, "schedule.save": 8} {
		if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin'
			AND JSON_VALUE(body, '$.action_performed') = ?`, action); n != want {
			t.Errorf("audit events %s: %d, want %d", action, n, want)
		}
	}
	if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin' AND JSON_VALUE(body, '$.patient_id') = ?`, e.Patient1); n != 6 {
		t.Errorf("audit events on patient 1: %d, want 6", n)
	}
}

func get(e *bt.Env, as, id int64) error {
	_, err := e.Svc.Get(e.As(as), id)
	return err
}

func TestCancelFreesTheSlotAndOverlapsAreRefused(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	e.WorkWeek(e.DoctorB)
	at := bt.Slot(1, "08:30")
	a, err := e.Book(e.Patient1, e.DoctorA, at)
	e.Expect("book", err, http.StatusOK)
	_, err = e.Book(e.Patient2, e.DoctorA, at)
	e.Expect("same slot again", err, http.StatusConflict)
	_, err = e.Book(e.Patient1, e.DoctorB, at)
	e.Expect("patient double-booked with another doctor", err, http.StatusConflict)

	_, err = e.Svc.Cancel(e.As(e.Patient2), a.ID)
	e.Expect("other patient cancels", err, http.StatusForbidden)
	c, err := e.Svc.Cancel(e.As(e.Patient1), a.ID)
	if err != nil || c.Status != booking.StatusCancelledPatient {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	_, err = e.Svc.Cancel(e.As(e.Patient1), a.ID)
	e.Expect("cancel twice", err, http.StatusConflict)
	_, err = e.Svc.Confirm(e.As(e.DoctorA), a.ID)
	e.Expect("confirm cancelled", err, http.StatusConflict)

	tuesday := time.Date(2026, 12, 8, 0, 0, 0, 0, bt.Clinic)
	av, err := e.Svc.Availability(e.As(e.Patient2), e.DoctorA, booking.AvailabilityQuery{Date: &tuesday})
	found := false
	for _, s := range av.Days[0].Slots {
		found = found || s.StartTime.Format(time.RFC3339) == "2026-12-08T01:30:00Z"
	}
	if err != nil || !found {
		t.Fatalf("cancelled slot not free again: %+v %v", av, err)
	}
	b, err := e.Book(e.Patient2, e.DoctorA, at)
	e.Expect("rebook freed slot", err, http.StatusOK)
	// The doctor cancels the new one: CANCELLED_DOCTOR.
	d, err := e.Svc.Cancel(e.As(e.DoctorA), b.ID)
	if err != nil || d.Status != booking.StatusCancelledDoctor {
		t.Fatalf("doctor cancel: %+v %v", d, err)
	}

	// NO_SHOW once the time has passed; cancel is then refused.
	n, err := e.Book(e.Patient1, e.DoctorB, bt.Slot(1, "11:00"))
	e.Expect("book", err, http.StatusOK)
	_, err = e.Svc.Confirm(e.As(e.Nurse), n.ID)
	e.Expect("confirm", err, http.StatusOK)
	e.Clock.Advance(48 * time.Hour)
	_, err = e.Svc.Cancel(e.As(e.Patient1), n.ID)
	e.Expect("cancel after start", err, http.StatusConflict)
	ns, err := e.Svc.Update(e.As(e.DoctorB), n.ID, booking.UpdateRequest{Status: str(booking.StatusNoShow), NotesDoctor: str("did not come")})
	if err != nil || ns.Status != booking.StatusNoShow || ns.NotesDoctor != "did not come" {
		t.Fatalf("no show: %+v %v", ns, err)
	}
}
