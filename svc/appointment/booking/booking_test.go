package booking_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"hospital/lib/apitest"
	"hospital/lib/testkit"
	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
)

func TestConcurrentBookingsOfOneSlot(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	at := bt.Slot(2, "10:30")
	// Fifty patients of the user service book the same slot at once.
	statuses := make([]int, len(e.Many))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range e.Many {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.Book(e.Many[i], e.DoctorA, at)
			statuses[i] = apitest.Status(err)
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusConflict] != len(e.Many)-1 {
		t.Fatalf("statuses: %v", count)
	}
	if n := e.Count(`SELECT COUNT(*) FROM appointments WHERE doctor_id = ? AND active_slot IS NOT NULL`, e.DoctorA); n != 1 {
		t.Fatalf("active appointments: %d", n)
	}
	if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'notification'`); n != 2 {
		t.Fatalf("outbox: %d", n)
	}
}

func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	// The deactivated doctor keeps a schedule: only the user service refuses them.
	e.WorkWeek(e.InactiveDoctor)
	cases := map[string]booking.BookRequest{
		"past":                {DoctorID: e.DoctorA, AppointmentTime: bt.Slot(-1, "09:00")},
		"earlier today":       {DoctorID: e.DoctorA, AppointmentTime: bt.Slot(0, "09:00")},
		"off the grid":        {DoctorID: e.DoctorA, AppointmentTime: bt.Slot(1, "09:10")},
		"outside hours":       {DoctorID: e.DoctorA, AppointmentTime: bt.Slot(1, "13:00")},
		"seconds":             {DoctorID: e.DoctorA, AppointmentTime: "2026-12-08T02:00:30Z"},
		"naive seconds":       {DoctorID: e.DoctorA, AppointmentTime: "2026-12-08T09:00:30"},
		"year 9999":           {DoctorID: e.DoctorA, AppointmentTime: "9999-12-31T09:00:00+07:00"},
		"year 1":              {DoctorID: e.DoctorA, AppointmentTime: "0001-01-01T09:00:00"},
		"unknown doctor":      {DoctorID: 424242, AppointmentTime: bt.Slot(1, "09:00")},
		"not a doctor":        {DoctorID: e.Nurse, AppointmentTime: bt.Slot(1, "09:00")},
		"inactive doctor":     {DoctorID: e.InactiveDoctor, AppointmentTime: bt.Slot(1, "09:00")},
		"doctor without plan": {DoctorID: e.DoctorB, AppointmentTime: bt.Slot(1, "09:00")},
		"malformed date":      {DoctorID: e.DoctorA, AppointmentTime: "08/12/2026 09:00"},
		"date only":           {DoctorID: e.DoctorA, AppointmentTime: "2026-12-08"},
	}
	for name, in := range cases {
		_, err := e.Svc.Book(e.As(e.Patient1), in)
		e.Expect(name, err, http.StatusBadRequest)
		// The user service refuses these doctors, not their (missing) schedule.
		if strings.Contains(name, "doctor") && name != "doctor without plan" && apitest.FieldErrors(err, "doctor_id") == nil {
			t.Fatalf("%s: no doctor_id error: %v", name, err)
		}
	}
	at := bt.Slot(1, "09:00")
	_, err := e.Svc.Book(e.As(e.Patient1), booking.BookRequest{DoctorID: e.DoctorA, AppointmentTime: at, PatientID: &e.Patient2})
	e.Expect("book for someone else", err, http.StatusForbidden)
	_, err = e.Book(e.DoctorB, e.DoctorA, at)
	e.Expect("doctor books", err, http.StatusForbidden)
	_, err = e.Book(e.Nurse, e.DoctorA, at)
	e.Expect("nurse without patient_id", err, http.StatusBadRequest)
	for name, patient := range map[string]int64{"inactive patient": e.InactivePatient, "not a patient": e.DoctorB, "unknown patient": 424242} {
		_, err := e.Svc.Book(e.As(e.Nurse), booking.BookRequest{DoctorID: e.DoctorA, AppointmentTime: at, PatientID: &patient})
		e.Expect("nurse books for "+name, err, http.StatusBadRequest)
		if apitest.FieldErrors(err, "patient_id") == nil {
			t.Fatalf("nurse books for %s: no patient_id error: %v", name, err)
		}
	}
	for name, in := range map[string]booking.ScheduleRequest{
		"end before start": {DayOfWeek: ptr(0), StartTime: "12:00", EndTime: "08:00", ValidFrom: "2026-01-01"},
		"bad time":         {DayOfWeek: ptr(1), StartTime: "8am", EndTime: "12:00", ValidFrom: "2026-01-01"},
		"bad valid_to":     {DayOfWeek: ptr(1), StartTime: "08:00", EndTime: "12:00", ValidFrom: "2026-01-01", ValidTo: str("2025-01-01")},
		"year 1":           {DayOfWeek: ptr(1), StartTime: "08:00", EndTime: "12:00", ValidFrom: "0001-01-01"},
		"year 9999":        {DayOfWeek: ptr(1), StartTime: "08:00", EndTime: "12:00", ValidFrom: "2026-01-01", ValidTo: str("9999-12-31")},
	} {
		_, _, err := e.Svc.SaveSchedule(e.As(e.DoctorA), e.DoctorA, in)
		e.Expect("schedule "+name, err, http.StatusBadRequest)
	}
	if n := e.Count(`SELECT COUNT(*) FROM appointments`); n != 0 {
		t.Fatalf("appointments written: %d", n)
	}
	if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service <> 'admin'`); n != 0 {
		t.Fatalf("outbox written: %d", n)
	}
	if n := e.Count(`SELECT COUNT(*) FROM doctor_schedules`); n != 14 {
		t.Fatalf("schedules: %d", n)
	}
	// Staff book on a patient's behalf.
	a, err := e.Svc.Book(e.As(e.Nurse), booking.BookRequest{DoctorID: e.DoctorA, AppointmentTime: at, PatientID: &e.Patient2})
	if err != nil || a.PatientID != e.Patient2 {
		t.Fatalf("nurse booking: %+v %v", a, err)
	}
}

func ptr(n int) *int { return &n }

// The spec's own example has no offset ("2023-12-25T10:00:00"): it is a
// wall-clock time in the clinic, and the answer carries the instant in UTC.
func TestTimeWithoutOffsetIsClinicTime(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	for i, c := range []struct{ at, want string }{
		{"2026-12-08T09:00:00", "2026-12-08T02:00:00Z"},
		{"2026-12-08T09:30", "2026-12-08T02:30:00Z"},
		{"2026-12-08T10:00:00", "2026-12-08T03:00:00Z"},
	} {
		a, err := e.Book(e.Many[i], e.DoctorA, c.at)
		if err != nil || a.AppointmentTime.Format(time.RFC3339) != c.want {
			t.Fatalf("%s: %+v %v", c.at, a, err)
		}
	}
	// The same slot, with and without an offset, is one slot.
	_, err := e.Book(e.Patient1, e.DoctorA, "2026-12-08T09:00:00+07:00")
	e.Expect("same slot with offset", err, http.StatusConflict)
}

// Names of 150 + 150 characters (the user service's limits) are kept whole.
func TestLongestNamesAreKept(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.LongNameDoctor)
	a, err := e.Book(e.LongNamePatient, e.LongNameDoctor, bt.Slot(1, "09:00"))
	if err != nil {
		t.Fatal(err)
	}
	if utf8.RuneCountInString(a.PatientName) != 301 || utf8.RuneCountInString(a.DoctorName) != 301 {
		t.Fatalf("names of %d and %d characters", utf8.RuneCountInString(a.PatientName), utf8.RuneCountInString(a.DoctorName))
	}
	got, err := e.Svc.Get(e.As(e.LongNamePatient), a.ID)
	if err != nil || got.PatientName != a.PatientName || got.DoctorName != a.DoctorName {
		t.Fatalf("stored names differ: %v", err)
	}
}

func TestBookingLimits(t *testing.T) {
	cfg := bt.Config()
	cfg.MaxOpenPerPatient = 3
	cfg.BookingHorizonDays = 14
	e := bt.New(t, &cfg)
	e.WorkWeek(e.DoctorA)

	_, err := e.Book(e.Patient1, e.DoctorA, bt.Slot(15, "09:00"))
	e.Expect("beyond the horizon", err, http.StatusBadRequest)
	if msg := apitest.FieldErrors(err, "appointment_time"); len(msg) != 1 || !strings.Contains(msg[0], "14 days") {
		t.Fatalf("horizon message: %v", err)
	}
	_, err = e.Book(e.Patient1, e.DoctorA, bt.Slot(14, "08:00")) // 13 days 20 hours ahead
	e.Expect("at the horizon", err, http.StatusOK)

	for i := range 2 {
		_, err := e.Book(e.Patient1, e.DoctorA, bt.Slot(1+i, "09:00"))
		e.Expect("open appointment", err, http.StatusOK)
	}
	_, err = e.Book(e.Patient1, e.DoctorA, bt.Slot(4, "09:00"))
	e.Expect("fourth open appointment", err, http.StatusConflict)
	// Staff booking for the patient is held to the same limit.
	_, err = e.Svc.Book(e.As(e.Nurse), booking.BookRequest{DoctorID: e.DoctorA, AppointmentTime: bt.Slot(4, "09:00"), PatientID: &e.Patient1})
	e.Expect("nurse books a fourth", err, http.StatusConflict)
	// Other patients are not affected.
	_, err = e.Book(e.Patient2, e.DoctorA, bt.Slot(4, "09:00"))
	e.Expect("another patient", err, http.StatusOK)

	// A cancellation, or an appointment that is over, frees a place.
	tomorrow, _, err := e.Svc.ListForPatient(e.As(e.Patient1), e.Patient1, booking.ListQuery{}, 10, 0)
	if err != nil || len(tomorrow) != 3 {
		t.Fatalf("list: %d %v", len(tomorrow), err)
	}
	_, err = e.Svc.Cancel(e.As(e.Patient1), tomorrow[0].ID)
	e.Expect("cancel", err, http.StatusOK)
	_, err = e.Book(e.Patient1, e.DoctorA, bt.Slot(5, "09:00"))
	e.Expect("after a cancellation", err, http.StatusOK)
	_, err = e.Book(e.Patient1, e.DoctorA, bt.Slot(5, "10:00"))
	e.Expect("full again", err, http.StatusConflict)
	e.Clock.Advance(46 * time.Hour) // Wednesday 10:00: Tuesday's appointment is over, still PENDING
	_, err = e.Book(e.Patient1, e.DoctorA, bt.Slot(5, "10:00"))
	e.Expect("after one ended", err, http.StatusOK)
}

// Doctors (and the patients staff book for) are looked up once per TTL; a
// patient booking for themself is not asked about beyond their name; a
// deactivation reaches bookings once the TTL has passed.
func TestUserLookupsAreCachedForTheTTL(t *testing.T) {
	cfg := bt.Config()
	cfg.UserCacheTTL = 5 * time.Second
	e := bt.New(t, &cfg)
	e.WorkWeek(e.DoctorB)
	doctor, err := e.Users.Create(e.Users.AdminToken(t), map[string]any{"username": "drcache", "email": "drcache@hospital.test",
		"first_name": "Cache", "last_name": "Doctor", "role_name": "DOCTOR"})
	if err != nil {
		t.Fatal(err)
	}
	e.Roles[doctor] = "DOCTOR"
	e.WorkWeek(doctor)
	before := e.Lookups.Load()
	for i := range 4 {
		_, err := e.Book(e.Many[i], doctor, bt.Slot(1, fmt.Sprintf("%02d:00", 8+i)))
		e.Expect("book", err, http.StatusOK)
	}
	// One lookup of the doctor and one of each patient: not one per booking.
	if n := e.Lookups.Load() - before; n != 5 {
		t.Fatalf("user service lookups for 4 bookings: %d, want 5", n)
	}
	admin := e.Users.AdminToken(t)
	e.Users.Deactivate(t, admin, doctor)
	t.Cleanup(func() { e.Users.Activate(t, admin, doctor) })
	err = testkit.Until(context.Background(), 20*time.Second, nil, func(context.Context) error {
		_, err := e.Book(e.Many[4], doctor, bt.Slot(2, "08:00"))
		if apitest.Status(err) != http.StatusBadRequest || apitest.FieldErrors(err, "doctor_id") == nil {
			return fmt.Errorf("deactivated doctor still bookable: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
