package booking_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
)

// The admin dashboard's figures: today's appointments (the clinic's day)
// by status.
func TestDashboardCountsTodayByStatus(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	var ids []int64
	for i, at := range []string{bt.Slot(1, "08:00"), bt.Slot(1, "08:30"), bt.Slot(1, "09:00"), bt.Slot(2, "08:00")} {
		a, err := e.Book([]int64{e.Patient1, e.Patient2, e.Many[0], e.Many[1]}[i], e.DoctorA, at)
		e.Expect("book", err, http.StatusOK)
		ids = append(ids, a.ID)
	}
	_, err := e.Svc.Confirm(e.As(e.DoctorA), ids[0])
	e.Expect("confirm", err, http.StatusOK)
	_, err = e.Svc.Cancel(e.As(e.Patient2), ids[1])
	e.Expect("cancel", err, http.StatusOK)
	e.Clock.Advance(19 * time.Hour) // Tuesday 07:00
	f, err := e.Svc.Dashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := booking.DashboardFigures{Day: "2026-12-08", AppointmentsToday: 3, TodayPending: 1, TodayConfirmed: 1, TodayCancelled: 1}
	if f != want {
		t.Errorf("figures %+v, want %+v", f, want)
	}
}
