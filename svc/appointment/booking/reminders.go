package booking

import (
	"context"
	"log/slog"
	"time"
)

// ReminderLeaderKey is the Consul key whose lock elects the instance that
// sends reminders (lib/leader).
const ReminderLeaderKey = "service/appointment/reminder-leader"

// Reminders sends APPOINTMENT_REMINDER_PATIENT and _DOCTOR once per CONFIRMED
// appointment, Before its start (the spec's Celery Beat task). main runs it
// on one instance at a time (lib/leader); the sent marker, set in the same
// transaction that enqueues the two messages, makes a second run or a second
// leader harmless. An appointment whose reminder window began while no
// instance ran is reminded on the next pass, as long as it has not started.
type Reminders struct {
	Service  *Service
	Before   time.Duration // how long before the appointment (24h)
	Interval time.Duration // how often the leader looks (1m)
	Logger   *slog.Logger
}

// Run passes every Interval until ctx ends (the leader's term).
func (r *Reminders) Run(ctx context.Context) {
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	r.lead(ctx)
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
