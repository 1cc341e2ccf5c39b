package service

import (
	"context"
	"log/slog"
	"time"
)

// Every returns a Background worker that runs fn every interval until the
// service stops (housekeeping such as purging expired tokens). A failure is
// logged under name and the next tick tries again.
func Every(interval time.Duration, log *slog.Logger, name string, fn func(ctx context.Context) error) func(ctx context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Warn(name+" failed", "err", err.Error())
			}
		}
	}
}
