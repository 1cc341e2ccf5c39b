package booking_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"hospital/lib/settings"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
)

// The consultation fee and the reminder offset follow the admin service's
// configuration in Consul while the service runs: the next completion is
// billed at the new fee, the next reminder pass uses the new offset.
func TestFeeAndReminderOffsetAreLive(t *testing.T) {
	e := bt.New(t, nil)
	e.WorkWeek(e.DoctorA)
	cfg := bt.Config()
	prefix := fmt.Sprintf("test/%s-%d/", t.Name(), time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := settings.NewWatcher(e.Users.Consul.Client, settings.Options{Prefix: prefix})
	fee := settings.Watch(w, settings.ConsultationFee, cfg.Fee())
	offset := settings.Watch(w, settings.ReminderBefore, cfg.ReminderBefore)
	go w.Run(ctx)
	<-w.Ready()
	svc, err := booking.New(cfg, booking.Deps{Store: e.Store, Users: userapi.NewClient(e.Client), Now: e.Clock.Now, Fee: fee.Get})
	if err != nil {
		t.Fatal(err)
	}
	pub := settings.NewPublisher(e.Users.Consul.Client, prefix)
	set := func(d settings.Definition, value string, version uint64) {
		t.Helper()
		if ok, err := pub.Publish(ctx, d.Name(), []byte(value), version); err != nil || !ok {
			t.Fatalf("publish %s: %v %v", d.Name(), ok, err)
		}
	}

	first, err := e.Book(e.Patient1, e.DoctorA, bt.Slot(1, "08:00")) // Tuesday 08:00, 20h away
	e.Expect("book", err, http.StatusOK)
	second, err := e.Book(e.Patient2, e.DoctorA, bt.Slot(3, "08:00")) // Thursday, 68h away
	e.Expect("book", err, http.StatusOK)
	for _, id := range []int64{first.ID, second.ID} {
		_, err := svc.Confirm(e.As(e.DoctorA), id)
		e.Expect("confirm", err, http.StatusOK)
	}

	// Reminders: 24h reaches the first only; 72h, set while running, the second.
	r := &booking.Reminders{Service: svc, Before: time.Hour, Offset: offset.Get}
	if n, err := r.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("pass at the default offset: %d %v", n, err)
	}
	set(settings.ReminderBefore, `"72h"`, 1)
	waitValue(t, "offset", offset.Get, 72*time.Hour)
	if n, err := r.Pass(ctx); err != nil || n != 1 {
		t.Fatalf("pass at 72h: %d %v", n, err)
	}
	e.Message(fmt.Sprintf("appointment-reminder-patient:%d", second.ID))

	// The fee in force when the appointment completes is billed.
	set(settings.ConsultationFee, `"175000.00"`, 1)
	waitValue(t, "fee", fee.Get, "175000.00")
	e.Clock.Advance(21*time.Hour + 5*time.Minute) // Tuesday 09:05: the first has begun
	_, err = svc.Complete(e.As(e.DoctorA), first.ID)
	e.Expect("complete", err, http.StatusOK)
	_, bill := e.Message(fmt.Sprintf("appointment-invoice:%d", first.ID))
	if bill["amount"] != "175000.00" {
		t.Errorf("invoice amount %v, want the new fee 175000.00", bill["amount"])
	}
	// Unset again: the service's own setting.
	if _, err := e.Users.Consul.Client.KV().Delete(prefix+settings.ConsultationFee.Name(), nil); err != nil {
		t.Fatal(err)
	}
	waitValue(t, "fee", fee.Get, "150000.00")
}

func waitValue[T comparable](t *testing.T, what string, get func() T, want T) {
	t.Helper()
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(context.Context) error {
		if got := get(); got != want {
			return fmt.Errorf("%s is %v, want %v", what, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
