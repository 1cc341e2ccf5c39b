package settings_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/settings"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var sharedConsul = testkit.SharedOnce(testkit.StartConsul)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor[T comparable](t *testing.T, what string, get func() T, want T) {
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

// A service sees a published value within moments, keeps its own setting
// until then and again once the key is deleted, ignores a value that does
// not parse and never goes back to an older version.
func TestValuesFollowConsul(t *testing.T) {
	c := sharedConsul(t)
	prefix := "test/" + t.Name() + "/"
	var logs lockedBuffer
	w := settings.NewWatcher(c.Client, settings.Options{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	fee := settings.Watch(w, settings.ConsultationFee, "150000.00")
	var changes []string
	var mu sync.Mutex
	fee.OnChange(func(v string) { mu.Lock(); changes = append(changes, v); mu.Unlock() })
	days := settings.Watch(w, settings.InvoiceDueDays, 30)
	if err := w.Check(context.Background()); err == nil {
		t.Fatal("ready before reading consul")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	<-w.Ready()
	if fee.Get() != "150000.00" || days.Get() != 30 {
		t.Fatalf("unset keys: %s, %d; want the fallbacks", fee.Get(), days.Get())
	}
	if err := w.Check(ctx); err != nil {
		t.Fatal(err)
	}

	pub := settings.NewPublisher(c.Client, prefix)
	publish := func(name, value string, version uint64) bool {
		t.Helper()
		ok, err := pub.Publish(ctx, name, []byte(value), version)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !publish(settings.ConsultationFee.Name(), `"175000.00"`, 3) {
		t.Fatal("first publish not applied")
	}
	waitFor(t, "fee", fee.Get, "175000.00")
	if days.Get() != 30 {
		t.Errorf("another key changed: %d", days.Get())
	}
	// An older version landing late changes nothing.
	if publish(settings.ConsultationFee.Name(), `"160000.00"`, 2) {
		t.Error("an older version was published over a newer one")
	}
	// A hand-written value that does not parse is ignored.
	if _, err := c.Client.KV().Put(&consul.KVPair{Key: prefix + settings.ConsultationFee.Name(), Value: []byte(`"lots"`), Flags: 9}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "log of the ignored value", func() bool { return strings.Contains(logs.String(), "live setting ignored") }, true)
	if fee.Get() != "175000.00" {
		t.Errorf("after an invalid value: %s", fee.Get())
	}
	if !publish(settings.ConsultationFee.Name(), `"180000.00"`, 10) {
		t.Fatal("newer publish not applied")
	}
	waitFor(t, "fee", fee.Get, "180000.00")

	// A Value created after the watcher has read Consul starts at the
	// current value, not at its fallback.
	late := settings.Watch(w, settings.ConsultationFee, "1.00")
	if late.Get() != "180000.00" {
		t.Errorf("late watcher: %s", late.Get())
	}

	if _, err := c.Client.KV().Delete(prefix+settings.ConsultationFee.Name(), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fee after delete", fee.Get, "150000.00")
	mu.Lock()
	got := strings.Join(changes, ",")
	mu.Unlock()
	if got != "175000.00,180000.00,150000.00" {
		t.Errorf("changes seen %q", got)
	}
}

// Many instances publishing many versions at once leave the highest.
func TestConcurrentPublishersKeepTheLatestVersion(t *testing.T) {
	c := sharedConsul(t)
	prefix := "test/" + t.Name() + "/"
	pub := settings.NewPublisher(c.Client, prefix)
	var wg sync.WaitGroup
	for v := 1; v <= 20; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := pub.Publish(context.Background(), "billing.invoice_due_days", []byte(fmt.Sprint(v)), uint64(v)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	cur, err := pub.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := cur["billing.invoice_due_days"]; p.Version != 20 || string(p.Value) != "20" {
		t.Errorf("consul holds version %d value %s, want 20", p.Version, p.Value)
	}
}
