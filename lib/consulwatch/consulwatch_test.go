package consulwatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/consulwatch"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// Each query after the first waits on the index of the previous answer, so
// it returns only when the key changed: every value written is seen, in
// order, with no polling in between.
func TestFollowsAKeyWithBlockingQueries(t *testing.T) {
	c := testkit.StartConsul(t)
	kv := c.Client.KV()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var seen []string
	calls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		consulwatch.Follow(ctx, consulwatch.Options{What: "test key", Wait: 5 * time.Second},
			func(opts *consul.QueryOptions) (*consul.QueryMeta, error) {
				p, meta, err := kv.Get("watch/me", opts)
				if err != nil {
					return nil, err
				}
				mu.Lock()
				calls++
				if p != nil && (len(seen) == 0 || seen[len(seen)-1] != string(p.Value)) {
					seen = append(seen, string(p.Value))
				}
				mu.Unlock()
				return meta, nil
			})
	}()
	for i := 1; i <= 3; i++ {
		want := fmt.Sprintf("v%d", i)
		if _, err := kv.Put(&consul.KVPair{Key: "watch/me", Value: []byte(want)}, nil); err != nil {
			t.Fatal(err)
		}
		err := testkit.Until(ctx, 10*time.Second, nil, func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 || seen[len(seen)-1] != want {
				return fmt.Errorf("seen %v, want %s last", seen, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	got, n := strings.Join(seen, ","), calls
	mu.Unlock()
	if got != "v1,v2,v3" {
		t.Errorf("values seen %q, want v1,v2,v3", got)
	}
	// One answer per change plus the first (a blocking query that returned
	// at once every time would have made hundreds of calls by now).
	if n > 8 {
		t.Errorf("%d queries for 3 changes: the queries do not block", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return after its context ended")
	}
}

// An outage is logged once, however many retries it takes, and so is the
// recovery; the pauses grow, and a cancelled context ends Follow during one.
func TestOutageIsLoggedOnceAndBackedOff(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var stamps []time.Time
	failures := 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	consulwatch.Follow(ctx, consulwatch.Options{What: "flaky", MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Logger: log},
		func(opts *consul.QueryOptions) (*consul.QueryMeta, error) {
			stamps = append(stamps, time.Now())
			if len(stamps) <= failures {
				return nil, errors.New("connection refused")
			}
			if len(stamps) == failures+2 {
				cancel()
			}
			return &consul.QueryMeta{LastIndex: uint64(len(stamps))}, nil
		})
	out := logs.String()
	if n := strings.Count(out, "consul query failed"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "consul reachable again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, out)
	}
	// Pauses: 10, 20, 40, 40, 40 ms (at least).
	want := []time.Duration{10, 20, 40, 40, 40}
	for i, w := range want {
		if gap := stamps[i+1].Sub(stamps[i]); gap < w*time.Millisecond {
			t.Errorf("pause %d was %s, want at least %dms", i, gap, w)
		}
	}

	// Cancelled during a long pause: returns at once.
	ctx2, cancel2 := context.WithCancel(context.Background())
	failed := make(chan struct{}, 1)
	go func() { <-failed; cancel2() }() // once the first query has failed: its hour-long pause is next
	start := time.Now()
	consulwatch.Follow(ctx2, consulwatch.Options{MinBackoff: time.Hour, Logger: log},
		func(*consul.QueryOptions) (*consul.QueryMeta, error) {
			select {
			case failed <- struct{}{}:
			default:
			}
			return nil, errors.New("down")
		})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Follow returned %s after its context ended", d)
	}
}

func TestNextIndex(t *testing.T) {
	cases := []struct {
		prev, last, want uint64
	}{
		{0, 0, 1},    // never wait on index 0: it does not block
		{0, 42, 42},  // first answer
		{42, 42, 42}, // a timeout without change
		{42, 50, 50},
		{50, 7, 0}, // went backwards: start over
	}
	for _, c := range cases {
		if got := consulwatch.NextIndex(c.prev, &consul.QueryMeta{LastIndex: c.last}); got != c.want {
			t.Errorf("NextIndex(%d, %d) = %d, want %d", c.prev, c.last, got, c.want)
		}
	}
}
