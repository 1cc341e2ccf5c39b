package outbox_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"hospital/lib/outbox"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

// A backlog of thousands of messages to a target that is stuck does not
// hold up a message to another target.
func TestBacklogToOneTargetDoesNotDelayAnother(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		w := newWorld(t, svcclient.Options{AttemptTimeout: time.Minute})
		stuck := newReceiver(t)
		stuck.block = make(chan struct{}) // answers nothing until released
		stuck.register(t, w.consul, "reports")
		other := newReceiver(t)
		other.register(t, w.consul, "ehr")

		backlog := keys("report", 3000)
		s.enqueue(t, msgs("reports", backlog)...)
		opts := fastOpts()
		opts.CallTimeout = time.Minute
		run(t, outbox.New(s.queue(), w.client, opts))
		s.enqueue(t, msg("ehr", "ehr-ref-1"))

		waitStatus(t, s, "ehr-ref-1", outbox.StatusDelivered)
		pending := 0
		for _, k := range backlog {
			rec, err := s.get(context.Background(), k)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status == outbox.StatusPending {
				pending++
			}
		}
		if pending != len(backlog) {
			t.Fatalf("%d of the stuck target's %d messages went before ehr's; want none", len(backlog)-pending, len(backlog))
		}
		// Released, the stuck target's lane carries on through its backlog.
		stuck.unblock()
		err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
			stuck.mu.Lock()
			defer stuck.mu.Unlock()
			if len(stuck.keys) < 200 {
				return fmt.Errorf("%d of the backlog delivered", len(stuck.keys))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Attempts an open breaker refuses are deferred, not counted; once the
// target answers again its messages go at once, whatever backoff the real
// failures earned them.
func TestOpenBreakerDefersAndItsClosingRetriesAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		// No retries inside the client: each counted attempt is one request.
		w := newWorld(t, svcclient.Options{BreakerFailures: 3, BreakerOpenFor: 300 * time.Millisecond, RetryMax: -1})
		r := newReceiver(t)
		// 503: a sign of the service's health, which every breaker counts.
		r.setStatus(func() int { return http.StatusServiceUnavailable })
		r.register(t, w.consul, "inbox")
		ks := keys("evt", 10)
		s.enqueue(t, msgs("inbox", ks)...)
		opts := fastOpts()
		// A real failure puts a message off for ten minutes: only the
		// target's recovery can bring it back within the test.
		opts.BackoffBase, opts.BackoffMax, opts.Concurrency = 10*time.Minute, time.Hour, 1
		run(t, outbox.New(s.queue(), w.client, opts))

		// Three failures open the breaker; what it refuses is deferred.
		err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
			if st := w.client.BreakerState("inbox"); st != gobreaker.StateOpen && st != gobreaker.StateHalfOpen {
				return fmt.Errorf("breaker %s", st)
			}
			for _, k := range ks {
				rec, err := s.get(ctx, k)
				if err != nil {
					return err
				}
				if rec.Attempts == 0 && rec.LastAttemptAt != nil && strings.Contains(rec.LastError, "circuit breaker") {
					return nil
				}
			}
			return fmt.Errorf("no message deferred by the open breaker yet")
		})
		if err != nil {
			t.Fatal(err)
		}

		r.setStatus(func() int { return http.StatusCreated })
		for _, k := range ks {
			waitStatus(t, s, k, outbox.StatusDelivered)
		}
		// Every counted attempt reached the receiver, and only those did.
		for _, k := range ks {
			rec, _ := s.get(context.Background(), k)
			if got := r.count(k); rec.Attempts != got {
				t.Fatalf("%s: %d attempts counted, receiver saw %d", k, rec.Attempts, got)
			}
		}
	})
}

// A target whose instance died (its calls failed and earned a backoff)
// gets its messages retried the moment Consul reports a passing instance.
func TestPassingInstanceRetriesAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s store) {
		w := newWorld(t, svcclient.Options{RetryMax: 1})
		// An instance Consul lists but that refuses connections.
		dead := newReceiver(t)
		deadAddr := dead.srv.Listener.Addr().String()
		dead.srv.Close()
		registerAt(t, w.consul, "inbox", deadAddr)
		s.enqueue(t, msg("inbox", "evt-1"))
		opts := fastOpts()
		opts.Resolver, opts.BackoffBase, opts.BackoffMax = w.resolver, 10*time.Minute, time.Hour
		run(t, outbox.New(s.queue(), w.client, opts))

		waitFor(t, s, "evt-1", 20*time.Second, func(rec outbox.Record) error {
			if rec.Attempts != 1 {
				return fmt.Errorf("attempts %d, last error %q", rec.Attempts, rec.LastError)
			}
			return nil
		})
		// Consul notices the instance is gone; a new one comes up.
		_, port, _ := strings.Cut(deadAddr, ":")
		if err := w.consul.Client.Agent().ServiceDeregister("inbox-" + port); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, w, "inbox", 0)
		r := newReceiver(t)
		r.register(t, w.consul, "inbox")
		rec := waitStatus(t, s, "evt-1", outbox.StatusDelivered)
		if rec.Attempts != 2 || r.count("evt-1") != 1 {
			t.Fatalf("attempts %d, receiver saw it %d times; want 2 and 1", rec.Attempts, r.count("evt-1"))
		}
	})
}

func waitInstances(t *testing.T, w world, service string, n int) {
	t.Helper()
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		inst, err := w.resolver.Instances(ctx, service)
		if err != nil {
			return err
		}
		if len(inst) != n {
			return fmt.Errorf("%d instances of %s, want %d", len(inst), service, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
