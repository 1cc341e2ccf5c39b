package notify

import (
	"context"
	"fmt"
	"time"
)

// Retention: a finished log keeps its rendered message and payload (PHI)
// for ContentRetention, then only what it was (type, recipient, channel,
// status, times). Delivery claims go after ClaimRetention, far beyond any
// log's retry schedule. The job runs on one instance per period.

const housekeepingJob = "housekeeping"

// Housekeep runs the retention job if no other instance has run it in this
// period (every is the period, the job's own interval).
func (s *Service) Housekeep(ctx context.Context, every time.Duration) error {
	now := s.now()
	ok, err := s.store.TryJob(ctx, housekeepingJob, now.Truncate(every), every)
	if err != nil || !ok {
		return err
	}
	purged, err := s.store.PurgeContent(ctx, now.Add(-s.opts.ContentRetention), now)
	if err != nil {
		return fmt.Errorf("purge log content: %w", err)
	}
	claims, err := s.store.PurgeClaims(ctx, now.Add(-s.opts.ClaimRetention))
	if err != nil {
		return fmt.Errorf("purge delivery claims: %w", err)
	}
	s.log.InfoContext(ctx, "notification housekeeping done", "logs_content_purged", purged, "claims_purged", claims)
	return nil
}
