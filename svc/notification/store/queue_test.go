package store_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"hospital/lib/mongodb"
	"hospital/lib/testkit"
	"hospital/svc/notification/notify"
	"hospital/svc/notification/store"
)

func TestMain(m *testing.M) {
	os.Exit(testkit.Main(m))
}

// open is a store on a fresh database, and opener gives more connections
// to it (other instances).
func open(t *testing.T) (*store.Store, func(owner string) *store.Store) {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	name := f.NewDatabase(t)
	opener := func(owner string) *store.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := mongodb.Connect(ctx, f.URI, "notification-store-test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
		return store.New(c, name, owner, nil)
	}
	s := opener("first")
	if err := s.Init(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return s, opener
}

func pendingLogs(t *testing.T, s *store.Store, n int) []notify.Log {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	logs := make([]notify.Log, n)
	for i := range logs {
		logs[i] = notify.Log{ID: fmt.Sprintf("%024x", i+1), Channel: "EMAIL", Status: notify.StatusPending,
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now, Content: &notify.Content{Subject: "s", Body: "b"}}
	}
	if _, inserted, err := s.InsertLogs(context.Background(), logs); err != nil || len(inserted) != n || !inserted[0] {
		t.Fatalf("insert logs: %v %v", inserted, err)
	}
	return logs
}

// Instances claiming the same logs at once: each log is won exactly once.
// A conditional update is not atomic on FerretDB; the unique claim id is.
func TestEachLogIsClaimedOnce(t *testing.T) {
	s, opener := open(t)
	logs := pendingLogs(t, s, 40)
	stores := []*store.Store{s, opener("second"), opener("third")}
	won := make(chan notify.Claim, 1000)
	var wg sync.WaitGroup
	for i := range 12 {
		st := stores[i%len(stores)]
		wg.Go(func() {
			claims, err := st.Claim(context.Background(), logs, time.Now(), time.Minute)
			if err != nil {
				t.Error(err)
			}
			for _, c := range claims {
				won <- c
			}
		})
	}
	wg.Wait()
	close(won)
	per := map[string]int{}
	for c := range won {
		per[c.LogID]++
		if c.Seq != 1 || c.TookOver {
			t.Errorf("claim %+v", c)
		}
	}
	for _, l := range logs {
		if per[l.ID] != 1 {
			t.Fatalf("log %s claimed %d times", l.ID, per[l.ID])
		}
	}
}

// A claim that is never recorded (its holder died) is taken over once it
// expires; the late holder's outcome is then refused, and a held claim is
// not taken.
func TestExpiredClaimsAreTakenOver(t *testing.T) {
	s, opener := open(t)
	ctx := context.Background()
	logs := pendingLogs(t, s, 2)
	other := opener("other")
	now := time.Now()
	if c, err := other.Claim(ctx, logs, now, time.Minute); err != nil || len(c) != 2 {
		t.Fatalf("first claims: %v %v", c, err)
	}
	if c, err := s.Claim(ctx, logs, now.Add(30*time.Second), time.Minute); err != nil || len(c) != 0 {
		t.Fatalf("claims on held logs: %v %v", c, err)
	}
	later := now.Add(2 * time.Minute)
	c, err := s.Claim(ctx, logs[:1], later, time.Minute)
	if err != nil || len(c) != 1 || c[0].Seq != 2 || !c[0].TookOver {
		t.Fatalf("takeover: %+v %v", c, err)
	}
	sent := later.UTC().Truncate(time.Millisecond)
	pid := "<x@hospital.test>"
	n, err := s.Record(ctx, []notify.Outcome{{LogID: logs[0].ID, Seq: 2, Status: notify.StatusSent, Attempts: 1, SentAt: &sent, ProviderMessageID: &pid, SentBy: "first", UpdatedAt: sent}})
	if err != nil || n != 1 {
		t.Fatalf("record: %d %v", n, err)
	}
	// The holder of claim 1 comes back and records a failure: refused.
	msg := "late"
	n, err = other.Record(ctx, []notify.Outcome{{LogID: logs[0].ID, Seq: 1, Status: notify.StatusPending, Attempts: 1, ErrorMessage: &msg, UpdatedAt: sent}})
	if err != nil || n != 0 {
		t.Fatalf("late record: %d %v", n, err)
	}
	l, err := s.GetLog(ctx, logs[0].ID)
	if err != nil || l.Status != notify.StatusSent || l.Claims != 2 || l.SentBy != "first" || l.ErrorMessage != nil {
		t.Fatalf("log after the late record: %+v %v", l, err)
	}
	// The next delivery of a recorded log claims the next number.
	l.Status = notify.StatusPending
	if c, err := other.Claim(ctx, []notify.Log{l}, later, time.Minute); err != nil || len(c) != 1 || c[0].Seq != 3 || c[0].TookOver {
		t.Fatalf("claim after a record: %+v %v", c, err)
	}
}

// Twins insert the same log at once: one is stored, every caller gets it.
func TestLogTwinsAreStoredOnce(t *testing.T) {
	s, opener := open(t)
	other := opener("other")
	now := time.Now().UTC().Truncate(time.Millisecond)
	l := notify.Log{ID: "0123456789abcdef01234567", Status: notify.StatusPending, RequestHash: "h", CreatedAt: now, UpdatedAt: now, NextAttemptAt: now}
	var wg sync.WaitGroup
	var mu sync.Mutex
	inserted := 0
	for i := range 10 {
		st := []*store.Store{s, other}[i%2]
		wg.Go(func() {
			stored, ins, err := st.InsertLogs(context.Background(), []notify.Log{l})
			if err != nil || stored[0].ID != l.ID || stored[0].RequestHash != "h" {
				t.Errorf("twin: %+v %v", stored, err)
				return
			}
			if ins[0] {
				mu.Lock()
				inserted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if inserted != 1 {
		t.Fatalf("%d twins inserted", inserted)
	}
}

// A batch's sent messages are recorded in one write; each still only while
// no later claim has been recorded on its log, and nothing outside the
// batch changes.
func TestBatchesAreRecordedTogether(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	logs := pendingLogs(t, s, 6)
	// Five in batch "a/1", the sixth in another batch.
	for i := range logs {
		logs[i].Holder = "a/1"
	}
	logs[5].Holder = "a/2"
	if err := s.Reschedule(ctx, []string{logs[0].ID, logs[1].ID, logs[2].ID, logs[3].ID, logs[4].ID}, time.Now(), "a/1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reschedule(ctx, []string{logs[5].ID}, time.Now(), "a/2"); err != nil {
		t.Fatal(err)
	}
	claims, err := s.Claim(ctx, logs, time.Now(), time.Minute)
	if err != nil || len(claims) != 6 {
		t.Fatalf("claims: %v %v", claims, err)
	}
	// A later claim already recorded on the fifth log.
	msg := "earlier"
	if n, err := s.Record(ctx, []notify.Outcome{{LogID: logs[4].ID, Seq: 2, Status: notify.StatusPending, Attempts: 1, ErrorMessage: &msg, UpdatedAt: time.Now()}}); err != nil || n != 1 {
		t.Fatalf("later claim's record: %d %v", n, err)
	}
	sent := time.Now().UTC().Truncate(time.Millisecond)
	var outs []notify.Outcome
	for _, l := range logs[:5] {
		outs = append(outs, notify.Outcome{LogID: l.ID, Seq: 1, Holder: "a/1", Status: notify.StatusSent, Attempts: 1, SentAt: &sent, SentBy: "a", UpdatedAt: sent})
	}
	n, err := s.Record(ctx, outs)
	if err != nil || n != 4 {
		t.Fatalf("batch record: %d recorded (%v), want 4", n, err)
	}
	for i, l := range logs {
		got, err := s.GetLog(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i < 4 && (got.Status != notify.StatusSent || got.Claims != 1 || got.SentBy != "a" || got.Holder != "" || got.SentAt == nil):
			t.Errorf("log %d: %+v", i, got)
		case i == 4 && (got.Status != notify.StatusPending || got.Claims != 2):
			t.Errorf("log with a later claim: %+v", got)
		case i == 5 && got.Status != notify.StatusPending:
			t.Errorf("log of another batch: %+v", got)
		}
	}
}
