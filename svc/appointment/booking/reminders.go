package booking

import (
	"context"
	"log/slog"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// ReminderLockKey is the Consul KV key whose lock elects the reminder leader.
const ReminderLockKey = "service/appointment/reminder-leader"

// Reminders sends APPOINTMENT_REMINDER_PATIENT and _DOCTOR once per CONFIRMED
// appointment, Before its start (the spec's Celery Beat task). One instance
// at a time runs it (a Consul lock); the sent marker, set in the same
// transaction that enqueues the two messages, makes a second run or a second
// leader harmless. An appointment whose reminder window began while no
// instance ran is reminded on the next pass, as long as it has not started.
type Reminders struct {
	Service  *Service
	Consul   *consul.Client // nil: no election (a single instance, or tests)
	Before   time.Duration  // how long before the appointment (24h)
	Interval time.Duration  // how often the leader looks (1m)
	LockKey  string
	Logger   *slog.Logger
	// OnLeader, when set, is told when this instance gains (true) or loses
	// (false) the leadership.
	OnLeader func(bool)
}

// Run elects and works until ctx ends.
func (r *Reminders) Run(ctx context.Context) {
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.LockKey == "" {
		r.LockKey = ReminderLockKey
	}
	if r.Consul == nil {
		r.lead(ctx)
		return
	}
	for ctx.Err() == nil {
		lock, err := r.Consul.LockOpts(&consul.LockOptions{
			Key: r.LockKey, SessionName: "appointment reminders", SessionTTL: "15s",
			LockWaitTime: 5 * time.Second,
		})
		if err != nil {
			r.Logger.Warn("reminder lock", "err", err.Error())
			if !sleep(ctx, 5*time.Second) {
				return
			}
			continue
		}
		lost, err := lock.Lock(ctx.Done())
		if err != nil || lost == nil {
			if err != nil && ctx.Err() == nil {
				r.Logger.Warn("reminder lock", "err", err.Error())
				sleep(ctx, 2*time.Second)
			}
			continue
		}
		r.Logger.Info("reminder leader elected")
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-lctx.Done():
			}
			cancel()
		}()
		if r.OnLeader != nil {
			r.OnLeader(true)
		}
		r.lead(lctx)
		cancel()
		if r.OnLeader != nil {
			r.OnLeader(false)
		}
		_ = lock.Unlock()
		r.Logger.Info("reminder leadership ended")
	}
}

func (r *Reminders) lead(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("reminder pass failed", "err", err.Error())
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// Pass enqueues the reminders now due and returns how many appointments
// were reminded.
func (r *Reminders) Pass(ctx context.Context) (int, error) {
	s := r.Service
	before := r.Before
	if before <= 0 {
		before = 24 * time.Hour
	}
	sent := 0
	defer func() {
		if sent > 0 {
			s.kick()
		}
	}()
	for {
		now := s.clock()
		due, err := s.store.DueReminders(ctx, now, before, 100)
		if err != nil || len(due) == 0 {
			return sent, err
		}
		for _, a := range due {
			marked := false
			err := s.store.InTx(ctx, func(tx Tx) error {
				ok, err := tx.MarkReminded(ctx, a.ID, now)
				if err != nil || !ok {
					return err
				}
				marked = true
				return tx.Enqueue(ctx, s.reminderMessages(a)...)
			})
			if err != nil {
				return sent, err
			}
			if marked {
				sent++
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
