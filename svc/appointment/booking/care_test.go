package booking_test

import (
	"net/http"
	"testing"

	"hospital/lib/appointmentapi"
	bt "hospital/svc/appointment/booking/bookingtest"
)

// The EHR's care question: an appointment in any status but cancelled,
// with the doctor when asked, on the clinic day when asked.
func TestCareRelationship(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	ask := func(q appointmentapi.CareQuery) bool {
		t.Helper()
		c, err := e.Svc.Care(e.As(e.Admin), q)
		if err != nil {
			t.Fatal(err)
		}
		return c.HasAppointment
	}
	q := appointmentapi.CareQuery{PatientID: e.Patient1, DoctorID: e.DoctorA}
	if ask(q) {
		t.Fatal("a care relationship before any appointment")
	}
	a, err := e.Book(e.Patient1, e.DoctorA, bt.Slot(1, "09:00")) // Tuesday 8 December, clinic time
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q    appointmentapi.CareQuery
		want bool
	}{
		{q, true},
		{appointmentapi.CareQuery{PatientID: e.Patient1, DoctorID: e.DoctorB}, false},
		{appointmentapi.CareQuery{PatientID: e.Patient2, DoctorID: e.DoctorA}, false},
		{appointmentapi.CareQuery{PatientID: e.Patient1, Date: "2026-12-08"}, true},
		{appointmentapi.CareQuery{PatientID: e.Patient1, Date: "2026-12-09"}, false},
		{appointmentapi.CareQuery{PatientID: e.Patient1, DoctorID: e.DoctorA, Date: "2026-12-08"}, true},
	} {
		if got := ask(c.q); got != c.want {
			t.Errorf("%+v: %v, want %v", c.q, got, c.want)
		}
	}
	if _, err := e.Svc.Cancel(e.As(e.Patient1), a.ID); err != nil {
		t.Fatal(err)
	}
	if ask(q) {
		t.Fatal("a cancelled appointment still counts")
	}
	_, err = e.Svc.Care(e.As(e.Admin), appointmentapi.CareQuery{PatientID: e.Patient1, Date: "8/12/2026"})
	e.Expect("bad date", err, http.StatusBadRequest)
}
