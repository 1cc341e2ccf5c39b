package records

import (
	"context"
	"fmt"
	"time"
)

// Dashboard answers the admin service's dashboard (lib/adminapi): how many
// records there are, how many encounters are dated this clinic week
// (Monday to Sunday) and how many accesses broke the glass in the last 7
// days. It reads no patient's data.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	now := s.now()
	d, err := s.store.Counts(ctx, WeekOf(now, s.opts.Location), now.Add(-7*24*time.Hour))
	if err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}

// WeekOf is the clinic week t falls in, as the store indexes encounters:
// its ISO year and week ("2026-W49").
func WeekOf(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}
