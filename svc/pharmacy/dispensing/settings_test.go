package dispensing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hospital/lib/ehrapi"
	"hospital/lib/settings"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// The window of "expiring soon" follows the admin service's configuration
// (pharmacy.expiry_warning_days in a real Consul agent) while the service
// runs: the stock list's default window, a stock update's answer and the
// dashboard use the new value at their next call; a list that names its own
// window keeps it; a deleted key falls back to EXPIRY_WARNING_DAYS.
func TestExpiryWindowIsLive(t *testing.T) {
	e := dt.New(t, nil)
	prefix := fmt.Sprintf("test/%s-%d/", t.Name(), time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := e.Users.Consul.Client
	w := settings.NewWatcher(c, settings.Options{Prefix: prefix, Logger: dt.Quiet})
	days := settings.Watch(w, settings.PharmacyExpiryWarningDays, e.Cfg.ExpiryWarningDays)
	go w.Run(ctx)
	<-w.Ready()
	users := userapi.NewClient(e.Client)
	svc, err := dispensing.New(e.Cfg, dispensing.Deps{Store: e.Store, Users: users, Roster: users, EHR: ehrapi.NewClient(e.Client),
		Now: e.Clock.Now, Logger: dt.Quiet, ExpiryWarningDays: days.Get})
	if err != nil {
		t.Fatal(err)
	}
	ph := e.As(e.PharmacistA)
	med := e.Medication("CEF250", "Cefuroxime 250mg", "Cefuroxime", "4000")
	for batch, in := range map[string]int{"C-5": 5, "C-20": 20, "C-60": 60, "C-200": 200} {
		e.Receive(med.ID, batch, 10, in)
	}
	// window is what the list, a stock update and the dashboard say now:
	// the window and how many batches expire within it.
	type window struct{ list, listed, update, updated, dash, dashed int }
	look := func(own int) window {
		t.Helper()
		views, _, err := svc.StockList(ph, dispensing.StockFilter{ExpiringWithinDays: own}, dispensing.Page{Limit: 20})
		if err != nil || len(views) != 1 {
			t.Fatalf("stock list: %+v %v", views, err)
		}
		v, err := svc.UpdateStock(ph, med.ID, dispensing.StockUpdate{ReorderLevel: new(int64(5))})
		if err != nil {
			t.Fatal(err)
		}
		d, err := svc.Dashboard(dt.AsService("admin"))
		if err != nil {
			t.Fatal(err)
		}
		return window{views[0].ExpiringWithinDays, len(views[0].ExpiringBatches), v.ExpiringWithinDays, len(v.ExpiringBatches),
			d.ExpiryWindowDays, d.BatchesExpiringSoon}
	}
	set := func(raw string, version uint64, want int) {
		t.Helper()
		if raw == "" {
			if _, err := c.KV().Delete(prefix+settings.PharmacyExpiryWarningDays.Name(), nil); err != nil {
				t.Fatal(err)
			}
		} else if ok, err := settings.NewPublisher(c, prefix).Publish(ctx, settings.PharmacyExpiryWarningDays.Name(), []byte(raw), version); err != nil || !ok {
			t.Fatal(ok, err)
		}
		err := testkit.Until(ctx, 10*time.Second, nil, func(context.Context) error {
			if got := days.Get(); got != want {
				return fmt.Errorf("window still %d days", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	if got := look(0); got != (window{30, 2, 30, 2, 30, 2}) {
		t.Fatalf("with EXPIRY_WARNING_DAYS (30): %+v", got)
	}
	set("90", 1, 90)
	if got := look(0); got != (window{90, 3, 90, 3, 90, 3}) {
		t.Fatalf("after the change to 90 days: %+v", got)
	}
	if got := look(10); got.list != 10 || got.listed != 1 || got.dash != 90 {
		t.Fatalf("a list asking for 10 days: %+v", got)
	}
	set("7", 2, 7)
	if got := look(0); got != (window{7, 1, 7, 1, 7, 1}) {
		t.Fatalf("after the change to 7 days: %+v", got)
	}
	set("", 0, 30)
	if got := look(0); got != (window{30, 2, 30, 2, 30, 2}) {
		t.Fatalf("with the key deleted: %+v", got)
	}
}
