package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/service"
	"hospital/lib/testkit"
)

func TestEveryRunsUntilStoppedAndSurvivesFailures(t *testing.T) {
	var calls atomic.Int32
	worker := service.Every(5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)), "chore",
		func(context.Context) error {
			calls.Add(1)
			return errors.New("store unavailable") // a failure must not stop the loop
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { worker(ctx); close(done) }()
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(context.Context) error {
		if calls.Load() < 3 {
			return errors.New("fewer than 3 runs")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop with its context")
	}
}

func TestEveryRunsAtStart(t *testing.T) {
	ran := make(chan struct{}, 1)
	worker := service.Every(time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)), "chore",
		func(context.Context) error {
			select {
			case ran <- struct{}{}:
			default:
			}
			return nil
		})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go worker(ctx)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("an hourly job did not run at start")
	}
}
