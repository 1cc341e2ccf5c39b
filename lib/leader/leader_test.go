package leader_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/leader"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// terms records who ran the job when, and fails on two runners at once.
type terms struct {
	t       *testing.T
	active  atomic.Int32
	mu      sync.Mutex
	started map[string]int
	ended   map[string]int
}

func newTerms(t *testing.T) *terms {
	return &terms{t: t, started: map[string]int{}, ended: map[string]int{}}
}

// job is the work of contender name: it runs until its context ends.
func (tr *terms) job(name string) func(ctx context.Context) {
	return func(ctx context.Context) {
		if n := tr.active.Add(1); n > 1 {
			tr.t.Errorf("%s started while %d other runner(s) were running", name, n-1)
		}
		tr.mu.Lock()
		tr.started[name]++
		tr.mu.Unlock()
		<-ctx.Done()
		tr.mu.Lock()
		tr.ended[name]++
		tr.mu.Unlock()
		tr.active.Add(-1)
	}
}

func (tr *terms) count(name string) (started, ended int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.started[name], tr.ended[name]
}

type contender struct {
	name   string
	e      *leader.Election
	cancel context.CancelFunc
	done   chan struct{}
}

func contend(t *testing.T, c *testkit.Consul, key, name string, tr *terms) *contender {
	ctx, cancel := context.WithCancel(context.Background())
	x := &contender{name: name, cancel: cancel, done: make(chan struct{}),
		e: &leader.Election{Consul: c.Client, Key: key, Name: name, Logger: quiet}}
	go func() { defer close(x.done); x.e.Run(ctx, tr.job(name)) }()
	t.Cleanup(func() { cancel(); <-x.done })
	return x
}

// oneLeader waits until exactly one of cs leads and returns it.
func oneLeader(t *testing.T, cs ...*contender) *contender {
	t.Helper()
	var lead *contender
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		lead = nil
		n := 0
		for _, c := range cs {
			if c.e.Leading() {
				lead, n = c, n+1
			}
		}
		if n != 1 {
			return fmt.Errorf("%d leaders", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lead
}

func other(lead *contender, a, b *contender) *contender {
	if lead == a {
		return b
	}
	return a
}

func TestOneRunsAndTheOtherTakesOverWhenItStops(t *testing.T) {
	c := testkit.StartConsul(t)
	tr := newTerms(t)
	a := contend(t, c, "service/test/job-leader", "a", tr)
	b := contend(t, c, "service/test/job-leader", "b", tr)
	first := oneLeader(t, a, b)
	second := other(first, a, b)
	if s, _ := tr.count(second.name); s != 0 {
		t.Fatalf("%s ran the job while %s led", second.name, first.name)
	}

	first.cancel()
	<-first.done
	if s, e := tr.count(first.name); s != 1 || e != 1 {
		t.Fatalf("%s: %d terms started, %d ended; want 1 and 1", first.name, s, e)
	}
	if got := oneLeader(t, a, b); got != second {
		t.Fatalf("%s leads after it stopped", got.name)
	}
}

func TestSessionDestroyedEndsTheTermAndALeaderIsElectedAgain(t *testing.T) {
	c := testkit.StartConsul(t)
	const key = "service/test/job-leader"
	tr := newTerms(t)
	a := contend(t, c, key, "a", tr)
	b := contend(t, c, key, "b", tr)
	first := oneLeader(t, a, b)
	pair, _, err := c.Client.KV().Get(key, nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("lock key: %+v %v", pair, err)
	}
	// What Consul does to the session of an instance it considers dead.
	if _, err := c.Client.Session().Destroy(pair.Session, nil); err != nil {
		t.Fatal(err)
	}
	err = testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		if _, e := tr.count(first.name); e != 1 {
			return fmt.Errorf("%s's term has not ended", first.name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The lock is taken again, under a new session, by whichever instance
	// Consul lets in first once the lock delay has passed.
	next := oneLeader(t, a, b)
	now, _, err := c.Client.KV().Get(key, nil)
	if err != nil || now == nil || now.Session == "" || now.Session == pair.Session {
		t.Fatalf("lock after the destroyed session: %+v %v", now, err)
	}
	if s, _ := tr.count(next.name); s == 0 {
		t.Fatalf("%s leads but never ran the job", next.name)
	}
}

func TestJobThatReturnsReleasesTheLock(t *testing.T) {
	c := testkit.StartConsul(t)
	const key = "service/test/once-leader"
	var runs atomic.Int32
	started := make(chan string, 2)
	once := func(name string) func(context.Context) {
		return func(context.Context) { runs.Add(1); started <- name }
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		e := &leader.Election{Consul: c.Client, Key: key, Logger: quiet, RetryWait: time.Hour}
		wg.Add(1)
		go func() { defer wg.Done(); e.Run(ctx, once(name)) }()
	}
	// The first runner returns at once and waits an hour before contending
	// again: the other can only run if the lock was released.
	got := map[string]bool{<-started: true, <-started: true}
	if len(got) != 2 {
		t.Fatalf("runners: %v, want both a and b", got)
	}
	cancel()
	wg.Wait()
}

func TestWithoutConsulTheJobRunsAtOnce(t *testing.T) {
	ran := make(chan struct{})
	e := &leader.Election{Key: "k", Logger: quiet}
	e.Run(context.Background(), func(context.Context) { close(ran) })
	select {
	case <-ran:
	default:
		t.Fatal("the job did not run")
	}
}
