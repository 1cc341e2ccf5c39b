package service

import (
	"context"
	"log/slog"
	"time"
)

// Every returns a Background worker that runs fn at once and then every
// interval until the service stops (housekeeping such as purging expired
// tokens). Running at start means an instance restarted more often than the
// interval still does the job. A failure is logged under name and the next
// tick tries again.
func Every(interval time.Duration, log *slog.Logger, name string, fn func(ctx context.Context) error) func(ctx context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Warn(name+" failed", "err", err.Error())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}
