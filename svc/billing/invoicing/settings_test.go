package invoicing_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"hospital/lib/settings"
	"hospital/lib/testkit"
	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

// The due days follow the admin service's configuration while the service
// runs: the next invoice falls due by the new value.
func TestDueDaysAreLive(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	prefix := fmt.Sprintf("test/%s-%d/", t.Name(), time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := e.Users.Consul.Client
	w := settings.NewWatcher(c, settings.Options{Prefix: prefix})
	days := settings.Watch(w, settings.InvoiceDueDays, 30)
	go w.Run(ctx)
	<-w.Ready()
	vnd, _ := invoicing.CurrencyFor("vnd")
	svc := invoicing.New(e.Store, billingtest.NewCard(), nil, invoicing.Options{Location: billingtest.Clinic,
		DueDays: days.Get, Currency: vnd, Now: e.Clock.Now, Logger: slog.Default()})
	invoice := func(appt int64) invoicing.Invoice {
		t.Helper()
		in := appointmentInvoice(e, appt)
		res, err := svc.InvoiceForAppointment(billingtest.AsService("appointment"), "", in)
		if err != nil {
			t.Fatal(err)
		}
		return res.Value
	}
	if due := invoice(40).DueDate.String(); due != "2027-01-06" {
		t.Errorf("due %s with the default 30 days", due)
	}
	if ok, err := settings.NewPublisher(c, prefix).Publish(ctx, settings.InvoiceDueDays.Name(), []byte("10"), 1); err != nil || !ok {
		t.Fatal(ok, err)
	}
	err := testkit.Until(ctx, 10*time.Second, nil, func(context.Context) error {
		if days.Get() != 10 {
			return fmt.Errorf("due days still %d", days.Get())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if due := invoice(41).DueDate.String(); due != "2026-12-17" {
		t.Errorf("due %s after the change to 10 days", due)
	}
}
