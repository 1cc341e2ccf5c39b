package booking_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"hospital/lib/leader"
	"hospital/lib/testkit"
	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
)

// Two instances compete for the reminder lock in a real Consul; each
// CONFIRMED appointment inside the window is reminded exactly once, including
// one whose window opened while no instance ran.
func TestRemindersOncePerAppointmentWithTwoInstances(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	soon, err := e.Book(e.Patient1, e.DoctorA, bt.Slot(1, "08:00")) // 20h away
	e.Expect("book", err, http.StatusOK)
	later, err := e.Book(e.Patient2, e.DoctorA, bt.Slot(3, "08:00"))
	e.Expect("book", err, http.StatusOK)
	pending, err := e.Book(e.Many[1], e.DoctorA, bt.Slot(1, "08:30"))
	e.Expect("book", err, http.StatusOK)
	for _, id := range []int64{soon.ID, later.ID} {
		_, err := e.Svc.Confirm(e.As(e.DoctorA), id)
		e.Expect("confirm", err, http.StatusOK)
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
		r := &booking.Reminders{Service: e.Svc, Before: 24 * time.Hour, Interval: 50 * time.Millisecond}
		el := &leader.Election{Consul: c.Client, Key: booking.ReminderLeaderKey, OnChange: onLeader}
		wg.Add(1)
		go func() { defer wg.Done(); el.Run(ctx, r.Run) }()
	}
	reminders := func() int {
		return e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'appointment-reminder-%'`)
	}
	err = testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		if n := reminders(); n != 2 {
			return fmt.Errorf("%d reminder messages", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two days pass: the later appointment enters the window.
	e.Clock.Advance(48 * time.Hour)
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
	r := &booking.Reminders{Service: e.Svc, Before: 24 * time.Hour}
	if n, err := r.Pass(context.Background()); err != nil || n != 0 {
		t.Fatalf("extra pass: %d %v", n, err)
	}
	cancel()
	wg.Wait()
	for _, key := range []string{
		fmt.Sprintf("appointment-reminder-patient:%d", soon.ID), fmt.Sprintf("appointment-reminder-doctor:%d", soon.ID),
		fmt.Sprintf("appointment-reminder-patient:%d", later.ID), fmt.Sprintf("appointment-reminder-doctor:%d", later.ID),
	} {
		e.Message(key)
	}
	if n := e.Count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE ?`, fmt.Sprintf("appointment-reminder-%%:%d", pending.ID)); n != 0 {
		t.Fatal("a PENDING appointment was reminded")
	}
	if maxLeaders != 1 {
		t.Fatalf("at most one leader expected, saw %d at once", maxLeaders)
	}
}
