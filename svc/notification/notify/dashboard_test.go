package notify_test

import (
	"context"
	"testing"

	"hospital/lib/testkit"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

// The admin dashboard's figures: what failed in the last day, what waits.
func TestDashboardFigures(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	if err := e.Mail.SetChaos(context.Background(), testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 550, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	urgent := nt.Registered(e.Patient, "lan")
	urgent.Urgent = true
	if a := e.MustSend(urgent, "dash-failed"); a.Status != notify.AnswerFailed {
		t.Fatalf("urgent send refused by the server: %+v", a)
	}
	_ = e.Mail.SetChaos(context.Background(), testkit.Chaos{})
	e.MustSend(nt.Registered(e.Patient, "lan"), "dash-pending-1")
	e.MustSend(nt.Registered(e.Doctor, "binh"), "dash-pending-2")
	f, err := e.Svc.Dashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.FailedLast24h != 1 || f.Pending != 2 || f.OldestPendingSeconds < 0 {
		t.Errorf("figures %+v", f)
	}
}
