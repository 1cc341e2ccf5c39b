package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/discovery"
	"hospital/lib/svcclient"
)

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	Batch       int           // messages claimed per target per round (20)
	Lease       time.Duration // how long a claim lasts before another instance may take over (60s)
	Poll        time.Duration // how often to look for due messages without a kick (1s)
	BackoffBase time.Duration // first retry delay (1s)
	BackoffMax  time.Duration // longest retry delay (5m)
	CallTimeout time.Duration // one delivery attempt, retries included (15s)
	Concurrency int           // deliveries in flight per target (8)
	// Resolver, when set (the service's own), tells the dispatcher the
	// moment a target without healthy instances gets one, so its messages
	// go at once instead of at the next check. Not needed with a client
	// that announces recoveries itself (svcclient's OnAvailable).
	Resolver *discovery.Resolver
	// NoInstanceWait is how long a target without healthy instances is left
	// alone before the next try (5s; 30s with a Resolver, which usually
	// says sooner).
	NoInstanceWait time.Duration
	// HousekeepEvery is how often a Housekeeper queue does its chores (30s).
	HousekeepEvery time.Duration
	Registerer     prometheus.Registerer
	Logger         *slog.Logger
}

// Dispatcher delivers the messages of a Queue. Each target service has its
// own lane (claims, deliveries in flight, pause), so a backlog or a slow
// receiver holds up only its own messages.
type Dispatcher struct {
	q      Queue
	client *svcclient.Client
	opts   Options
	log    *slog.Logger
	owner  string
	wake   chan struct{}

	mu        sync.Mutex
	targets   map[string]*target
	watchOnce sync.Once

	deliveries *prometheus.CounterVec
}

// NewDispatcher returns a dispatcher for the MySQL outbox table in db.
func NewDispatcher(db *sql.DB, client *svcclient.Client, opts Options) *Dispatcher {
	return New(NewMySQLQueue(db), client, opts)
}

// New returns a dispatcher delivering q's messages through client.
func New(q Queue, client *svcclient.Client, opts Options) *Dispatcher {
	if opts.Batch == 0 {
		opts.Batch = 20
	}
	if opts.Lease == 0 {
		opts.Lease = 60 * time.Second
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax == 0 {
		opts.BackoffMax = 5 * time.Minute
	}
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 15 * time.Second
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.NoInstanceWait == 0 {
		opts.NoInstanceWait = 5 * time.Second
		if opts.Resolver != nil {
			opts.NoInstanceWait = 30 * time.Second
		}
	}
	if opts.HousekeepEvery == 0 {
		opts.HousekeepEvery = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Dispatcher{q: q, client: client, opts: opts, log: opts.Logger,
		owner: randHex(8), wake: make(chan struct{}, 1), targets: map[string]*target{}}
	d.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outbox_delivery_attempts_total",
		Help: "Outbox delivery attempts by target and result (delivered, retry, failed, deferred).",
	}, []string{"target", "result"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(d.deliveries, &gauges{q: q})
	}
	if k, ok := q.(Kickable); ok {
		k.SetKick(d.Kick)
	}
	// A client that announces a service's recovery (its breaker closed,
	// Consul reports a new passing instance) tells the lanes directly.
	if a, ok := any(client).(interface{ OnAvailable(func(service string)) }); ok {
		a.OnAvailable(d.available)
	}
	return d
}

// Kick asks for an immediate delivery round (call it after a commit that
// enqueued messages).
func (d *Dispatcher) Kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the lanes to stop (a delivery
// cut short is recorded as deferred, so another instance may take it at once).
func (d *Dispatcher) Run(ctx context.Context) {
	if d.opts.Resolver != nil {
		d.watchOnce.Do(func() { d.opts.Resolver.OnChange(d.instancesChanged) })
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if hk, ok := d.q.(Housekeeper); ok {
		wg.Add(1)
		go func() { defer wg.Done(); d.housekeep(ctx, hk) }()
	}
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		d.schedule(ctx, &wg)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
			// Kicks come with every enqueue: a short pause lets a burst
			// share one round instead of each paying for its own.
			select {
			case <-ctx.Done():
				return
			case <-time.After(minRoundGap):
			}
		}
	}
}

// minRoundGap is the least time between two rounds started by kicks.
const minRoundGap = 5 * time.Millisecond

func (d *Dispatcher) housekeep(ctx context.Context, hk Housekeeper) {
	t := time.NewTicker(d.opts.HousekeepEvery)
	defer t.Stop()
	for {
		if err := hk.Housekeep(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil {
			d.log.Warn("outbox housekeeping failed", "err", err.Error())
		} else if err == nil {
			d.Kick() // what it found is due now
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// schedule starts a lane for every target that has work and none running.
func (d *Dispatcher) schedule(ctx context.Context, wg *sync.WaitGroup) {
	now := time.Now().UTC()
	due, err := d.q.DueTargets(ctx, now)
	if err != nil && ctx.Err() == nil {
		d.log.Warn("outbox: cannot list due targets", "err", err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, t := range d.targets {
		d.maybeResume(name, t, now)
	}
	start := map[string]bool{}
	for _, name := range due {
		start[name] = true
	}
	for name, t := range d.targets {
		if t.probe || !t.since.IsZero() {
			start[name] = true
		}
	}
	for name := range start {
		t := d.target(name)
		if t.running || t.paused() || ctx.Err() != nil {
			continue
		}
		t.running = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.lane(ctx, name)
		}()
	}
}

// lane claims and delivers the messages of one target until none qualify,
// the target is paused, or ctx ends.
func (d *Dispatcher) lane(ctx context.Context, name string) {
	defer func() {
		d.mu.Lock()
		d.targets[name].running = false
		d.mu.Unlock()
	}()
	for ctx.Err() == nil {
		d.mu.Lock()
		t := d.targets[name]
		if t.paused() {
			d.mu.Unlock()
			return
		}
		since, probe := t.since, t.probe
		d.mu.Unlock()

		now := time.Now().UTC()
		req := ClaimRequest{Target: name, Now: now, AttemptedBefore: since, Limit: d.opts.Batch,
			Owner: d.owner, Until: now.Add(d.opts.Lease)}
		if probe {
			// One message, due or not, to learn whether the target is back.
			req.AttemptedBefore, req.Limit = now, 1
		}
		batch, err := d.q.Claim(ctx, req)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("outbox: claim failed", "target", name, "err", err.Error())
			}
			return
		}
		reached := false
		if len(batch) > 0 {
			reached = d.deliverAll(ctx, batch)
		}
		d.mu.Lock()
		if probe {
			t.probe = false
			if reached {
				t.resume(now)
			}
		} else if len(batch) == 0 && t.since.Equal(since) {
			t.since = time.Time{}
		}
		more := len(batch) == req.Limit || probe || !t.since.IsZero()
		d.mu.Unlock()
		if !more {
			return
		}
	}
}

// deliverAll sends a batch, Concurrency at a time, and reports whether the
// target answered any of them.
func (d *Dispatcher) deliverAll(ctx context.Context, batch []Claimed) bool {
	sem := make(chan struct{}, d.opts.Concurrency)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		reached bool
	)
	for _, m := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if r := d.deliver(ctx, m); r == Delivered || r == Refused {
				mu.Lock()
				reached = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return reached
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func clip(b []byte) string { return clipStr(string(b)) }

func clipStr(s string) string {
	if len(s) > 900 {
		return s[:900] + "..."
	}
	return s
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}
