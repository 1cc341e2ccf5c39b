package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/cache"
	"hospital/lib/testkit"
)

func TestGetLoadsOnceKeepsNoFailuresAndExpires(t *testing.T) {
	// A TTL long enough that a goroutine scheduled late on a busy machine
	// still finds the entry, short enough to see it expire.
	c := cache.New[int, string](10, time.Second)
	var loads atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	load := func(context.Context) (string, error) {
		if loads.Add(1) == 1 {
			close(started)
		}
		<-release
		return "v", nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.Get(context.Background(), 1, load); err != nil || v != "v" {
				t.Errorf("got %q %v", v, err)
			}
		}()
	}
	// The first load runs; the others wait on it. Let it finish.
	<-started
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("20 concurrent misses made %d loads", n)
	}

	failing := func(context.Context) (string, error) { loads.Add(1); return "", errors.New("down") }
	for range 2 {
		if _, err := c.Get(context.Background(), 2, failing); err == nil {
			t.Fatal("a failed load was not reported")
		}
	}
	if n := loads.Load(); n != 3 {
		t.Fatalf("a failure was kept: %d loads", n)
	}

	again := func(context.Context) (string, error) { return "w", nil }
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
		if v, _ := c.Get(ctx, 1, again); v != "w" {
			return errors.New("the entry is still served")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("an entry outlived its ttl: %v", err)
	}
	c.Forget(1)
	if v, _ := c.Get(context.Background(), 1, func(context.Context) (string, error) { return "x", nil }); v != "x" {
		t.Fatalf("forgotten entry answered %q", v)
	}
}

func TestZeroTTLAlwaysLoads(t *testing.T) {
	c := cache.New[int, int](10, 0)
	n := 0
	for range 3 {
		_, _ = c.Get(context.Background(), 1, func(context.Context) (int, error) { n++; return n, nil })
	}
	if n != 3 {
		t.Fatalf("%d loads", n)
	}
}
