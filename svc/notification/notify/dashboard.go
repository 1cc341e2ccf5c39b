package notify

import (
	"context"
	"time"
)

// DashboardFigures is what the notification service contributes to the
// admin dashboard (lib/adminapi.DashboardPath("notifications")).
type DashboardFigures struct {
	// FailedLast24h counts the messages that ended FAILED in the last 24
	// hours (given up after their attempts, or refused for good).
	FailedLast24h int `json:"failed_last_24h"`
	// Pending counts the messages waiting to be delivered, and
	// OldestPendingSeconds is how long the oldest has waited.
	Pending              int   `json:"pending"`
	OldestPendingSeconds int64 `json:"oldest_pending_seconds"`
}

// Dashboard counts the recent failures and the queue.
func (s *Service) Dashboard(ctx context.Context) (DashboardFigures, error) {
	now := s.opts.Now()
	failed, err := s.store.CountChangedSince(ctx, StatusFailed, now.Add(-24*time.Hour))
	if err != nil {
		return DashboardFigures{}, err
	}
	counts, oldest, err := s.store.QueueStats(ctx, now)
	if err != nil {
		return DashboardFigures{}, err
	}
	f := DashboardFigures{FailedLast24h: failed, OldestPendingSeconds: int64(oldest / time.Second)}
	for k, n := range counts {
		if k[1] == StatusPending {
			f.Pending += n
		}
	}
	return f, nil
}
