package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

func TestPendingUntilReceiverAppearsThenDeliveredOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		w := newWorld(t, svcclient.Options{})
		s.enqueue(t, msg("inbox", "evt-1"))
		s.enqueue(t, msg("inbox", "evt-1")) // the same business event enqueued twice stays one message
		opts := fastOpts()
		// Only Consul's news of an instance can end this wait in time.
		opts.Resolver, opts.NoInstanceWait = w.resolver, time.Hour
		run(t, outbox.New(s.queue(), w.client, opts))

		// No receiver exists: the message waits, without counting attempts
		// it never made (no backoff grows while the target is away).
		rec := waitFor(t, s, "evt-1", 10*time.Second, func(rec outbox.Record) error {
			if rec.LastAttemptAt == nil || rec.Status != outbox.StatusPending {
				return fmt.Errorf("not tried yet: %+v", rec)
			}
			return nil
		})
		if rec.Attempts != 0 || !strings.Contains(rec.LastError, "no healthy instances") {
			t.Fatalf("deferred for want of an instance: attempts %d, last error %q", rec.Attempts, rec.LastError)
		}

		r := newReceiver(t)
		r.register(t, w.consul, "inbox")
		rec = waitStatus(t, s, "evt-1", outbox.StatusDelivered)
		if rec.DeliveredAt == nil || string(rec.Body) != `{"k":"evt-1"}` || rec.Attempts != 1 {
			t.Fatalf("delivered record = %+v", rec)
		}
		if n := r.count("evt-1"); n != 1 {
			t.Fatalf("receiver saw evt-1 %d times, want 1", n)
		}
		if n := s.count(t); n != 1 {
			t.Fatalf("outbox has %d messages, want 1", n)
		}
	})
}

func TestTwoDispatchersNeverDeliverTwice(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		w := newWorld(t, svcclient.Options{})
		r := newReceiver(t)
		r.register(t, w.consul, "inbox")
		ks := keys("bulk", 200)
		s.enqueue(t, msgs("inbox", ks)...)
		run(t, outbox.New(s.queue(), w.client, fastOpts()))
		run(t, outbox.New(s.queue(), w.client, fastOpts()))
		for _, k := range ks {
			waitStatus(t, s, k, outbox.StatusDelivered)
		}
		for _, k := range ks {
			if n := r.count(k); n != 1 {
				t.Fatalf("%s delivered %d times", k, n)
			}
		}
	})
}

func TestRetriesServerErrorsAndStopsOnRefusal(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		w := newWorld(t, svcclient.Options{})
		r := newReceiver(t)
		calls := 0
		r.setStatus(func() int {
			calls++
			if calls <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		r.register(t, w.consul, "inbox")
		s.enqueue(t, msg("inbox", "flaky-1"))
		run(t, outbox.New(s.queue(), w.client, fastOpts()))
		rec := waitStatus(t, s, "flaky-1", outbox.StatusDelivered)
		if rec.Attempts != 3 {
			t.Fatalf("attempts = %d, want 3 (two 500s then success)", rec.Attempts)
		}

		r.setStatus(func() int { return http.StatusUnprocessableEntity })
		s.enqueue(t, msg("inbox", "refused-1"))
		rec = waitStatus(t, s, "refused-1", outbox.StatusFailed)
		if rec.LastStatus != http.StatusUnprocessableEntity || rec.Attempts != 1 {
			t.Fatalf("refused record = %+v", rec)
		}
	})
}

func TestRollbackEnqueuesNothing(t *testing.T) {
	db, _ := testkit.NewMySQL(t, outbox.Migrate)
	err := mysqldb.InTx(context.Background(), db, func(tx *sql.Tx) error {
		if err := outbox.Enqueue(context.Background(), tx, outbox.Message{Key: "ghost", Service: "inbox", Path: "/x"}); err != nil {
			return err
		}
		return fmt.Errorf("business rule failed")
	})
	if err == nil {
		t.Fatal("expected the transaction to fail")
	}
	if _, err := outbox.Get(context.Background(), db, "ghost"); err == nil {
		t.Fatal("a rolled-back transaction left an outbox message")
	}
}

// Delivered messages go after DeliveredRetention, so the queue does not
// keep (and FerretDB's claims do not scan) every message ever sent; pending
// and refused ones stay.
func TestHousekeepingPurgesOldDeliveredMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		s.enqueue(t, msg("billing", "sent"), msg("billing", "refused"), msg("billing", "waiting"))
		q := s.queue()
		now := time.Now().UTC()
		claimed, err := q.Claim(ctx, outbox.ClaimRequest{Target: "billing", Now: now.Add(time.Second), Limit: 10, Owner: "test", Until: now.Add(time.Minute)})
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claimed %d: %v", len(claimed), err)
		}
		for _, m := range claimed {
			o := outbox.Outcome{At: now, Status: 200, Result: outbox.Delivered}
			switch m.Key {
			case "refused":
				o = outbox.Outcome{At: now, Status: 400, Result: outbox.Refused, Error: "bad"}
			case "waiting":
				o = outbox.Outcome{At: now, Status: 503, Result: outbox.Retry, Error: "later", Next: now.Add(time.Hour)}
			}
			if err := q.Record(ctx, m, o); err != nil {
				t.Fatal(err)
			}
		}
		hk := q.(outbox.Housekeeper)
		// A day later the delivered message is still there for operators.
		if err := hk.Housekeep(ctx, now.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := s.count(t); n != 3 {
			t.Fatalf("%d messages a day later, want 3", n)
		}
		if err := hk.Housekeep(ctx, now.Add(outbox.DeliveredRetention+time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.get(ctx, "sent"); err == nil {
			t.Error("the delivered message outlived its retention")
		}
		for _, k := range []string{"refused", "waiting"} {
			if _, err := s.get(ctx, k); err != nil {
				t.Errorf("%s: %v", k, err)
			}
		}
	})
}
