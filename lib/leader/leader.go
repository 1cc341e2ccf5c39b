// Package leader runs a job on one instance of a service at a time (the
// reminder sender, the overdue-invoice pass, report tasks), elected with a
// Consul session lock.
//
// A Consul lock prefers liveness over safety: an instance that loses its
// session (Consul missed its renewals, an operator destroyed it) is told so,
// and its job's context is cancelled, but it may still be finishing a step
// when the next leader starts. LockDelay keeps the lock from anyone for a
// while after a session is invalidated, which covers a step that stops
// promptly on cancellation; jobs must still be safe to run twice (the state
// they change carries a marker set in the same write, as the appointment
// reminders' sent mark does).
package leader

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Election elects one runner of a job among the instances sharing Key.
type Election struct {
	// Consul is the local agent; nil means no election: the job runs at
	// once (a single instance, or tests without Consul).
	Consul *consul.Client
	// Key is the KV key of the lock, e.g. "service/billing/overdue-leader".
	Key string
	// Name is the session's name as operators see it (Key when empty).
	Name string
	// SessionTTL is how long Consul keeps the session of an instance that
	// stopped renewing it (15s; Consul's minimum is 10s). A crashed leader
	// is replaced after about twice this, plus LockDelay.
	SessionTTL time.Duration
	// LockDelay is how long Consul keeps the lock from others after a
	// session is invalidated, so a leader that lost its session stops
	// before the next one starts (5s). A leader that stops cleanly releases
	// the lock at once.
	LockDelay time.Duration
	// RetryWait is the pause after a Consul error, or after the job
	// returned while still leading (5s).
	RetryWait time.Duration
	Logger    *slog.Logger
	// OnChange, when set, is told when this instance starts (true) and
	// stops (false) leading.
	OnChange func(leading bool)

	leading atomic.Bool
}

// Leading reports whether this instance runs the job now.
func (e *Election) Leading() bool { return e.leading.Load() }

// Run contends for the lock until ctx ends. While this instance holds it,
// work runs with a context that ends when the lock is lost or ctx ends;
// work should return promptly then. If work returns while still leading,
// the lock is released and, after RetryWait, contended for again.
func (e *Election) Run(ctx context.Context, work func(ctx context.Context)) {
	e.defaults()
	if e.Consul == nil {
		e.lead(ctx, work)
		return
	}
	for ctx.Err() == nil {
		lock, err := e.Consul.LockOpts(&consul.LockOptions{
			Key:         e.Key,
			SessionName: e.Name,
			SessionTTL:  e.SessionTTL.String(),
			LockDelay:   e.LockDelay,
			// A waiting contender re-checks this often, and notices ctx
			// ending no later than this.
			LockWaitTime: 2 * time.Second,
			// Ride out a brief Consul hiccup without giving up the lead.
			MonitorRetries:   3,
			MonitorRetryTime: time.Second,
		})
		if err != nil {
			e.Logger.Warn("leader election: lock", "key", e.Key, "err", err.Error())
			sleep(ctx, e.RetryWait)
			continue
		}
		lost, err := lock.Lock(ctx.Done())
		if err != nil {
			if ctx.Err() == nil {
				e.Logger.Warn("leader election: acquire", "key", e.Key, "err", err.Error())
				sleep(ctx, e.RetryWait)
			}
			continue
		}
		if lost == nil { // ctx ended while waiting
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
				e.Logger.Warn("leader election: lock lost", "key", e.Key)
			case <-lctx.Done():
			}
			cancel()
		}()
		returnedEarly := e.lead(lctx, work)
		cancel()
		// Release for the next leader now, rather than after the TTL; a
		// lost lock answers ErrLockNotHeld, which needs nothing.
		_ = lock.Unlock()
		if returnedEarly && ctx.Err() == nil {
			sleep(ctx, e.RetryWait)
		}
	}
}

// lead runs work as the leader and reports whether work returned before its
// context ended.
func (e *Election) lead(ctx context.Context, work func(ctx context.Context)) bool {
	e.leading.Store(true)
	e.Logger.Info("leader election: leading", "key", e.Key)
	if e.OnChange != nil {
		e.OnChange(true)
	}
	work(ctx)
	early := ctx.Err() == nil
	e.leading.Store(false)
	if e.OnChange != nil {
		e.OnChange(false)
	}
	e.Logger.Info("leader election: no longer leading", "key", e.Key)
	return early
}

func (e *Election) defaults() {
	if e.Name == "" {
		e.Name = e.Key
	}
	if e.SessionTTL == 0 {
		e.SessionTTL = 15 * time.Second
	}
	if e.LockDelay == 0 {
		e.LockDelay = 5 * time.Second
	}
	if e.RetryWait == 0 {
		e.RetryWait = 5 * time.Second
	}
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
