package notify

import (
	"context"
	"fmt"
)

// Retention: a finished log keeps its rendered message and payload (PHI)
// for ContentRetention, then only what it was (type, recipient, channel,
// status, times). Delivery claims go after ClaimRetention, far beyond any
// log's retry schedule, and so do the records of finished changes (their
// messages wait in the outbox, not in the record). One instance runs the job (main elects it with
// lib/leader); two runs at once would do no harm, each step is idempotent.

// Housekeep purges what the retention periods let go.
func (s *Service) Housekeep(ctx context.Context) error {
	now := s.now()
	purged, err := s.store.PurgeContent(ctx, now.Add(-s.opts.ContentRetention), now)
	if err != nil {
		return fmt.Errorf("purge log content: %w", err)
	}
	claims, err := s.store.PurgeClaims(ctx, now.Add(-s.opts.ClaimRetention))
	if err != nil {
		return fmt.Errorf("purge delivery claims: %w", err)
	}
	changes, err := s.store.PurgeChanges(ctx, now.Add(-s.opts.ClaimRetention))
	if err != nil {
		return fmt.Errorf("purge finished changes: %w", err)
	}
	s.log.InfoContext(ctx, "notification housekeeping done", "logs_content_purged", purged, "claims_purged", claims,
		"changes_purged", changes)
	return nil
}
