package notification

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// WorkerOptions tune delivery; zero values take the defaults.
type WorkerOptions struct {
	// Concurrency is the number of deliveries in flight (4). Negative: this
	// instance delivers nothing (API only); its queued logs wait for others.
	Concurrency int
	Batch       int           // due logs looked up per poll (100)
	Poll        time.Duration // how often to look for due logs (1s)
	Lease       time.Duration // exclusive hold on a log while delivering (2m)
	SendTimeout time.Duration // one provider call (20s); well below Lease
	MaxAttempts int           // attempts before a log ends FAILED (6)
	BackoffBase time.Duration // delay after the first failed attempt (10s)
	BackoffMax  time.Duration // longest delay between attempts (15m)
	// LeaseRetention is how long finished lease records are kept (7 days):
	// far longer than any log stays in the queue.
	LeaseRetention time.Duration
	// Instance names this process in sent_by and in leases.
	Instance   string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Worker delivers PENDING logs. The log collection is the queue: a worker
// finds due logs, takes a lease on each (so two instances never send the
// same one), sends it and records the outcome: SENT with the provider's id,
// PENDING again with a later next_attempt_at, or FAILED with the reason. A
// log whose holder died is taken over when its lease expires, so a restart
// loses nothing.
type Worker struct {
	store   *Store
	senders Senders
	opts    WorkerOptions
	log     *slog.Logger
	hints   chan string
	wake    chan struct{}

	mu       sync.Mutex
	inflight map[string]bool

	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

// NewWorker returns a worker sending through senders.
func NewWorker(store *Store, senders Senders, opts WorkerOptions) *Worker {
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	if opts.Batch == 0 {
		opts.Batch = 100
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.Lease == 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.SendTimeout == 0 {
		opts.SendTimeout = 20 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 6
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase = 10 * time.Second
	}
	if opts.BackoffMax == 0 {
		opts.BackoffMax = 15 * time.Minute
	}
	if opts.LeaseRetention == 0 {
		opts.LeaseRetention = 7 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Worker{
		store: store, senders: senders, opts: opts, log: opts.Logger,
		hints: make(chan string, 4096), wake: make(chan struct{}, 1), inflight: map[string]bool{},
	}
	w.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "notification_delivery_attempts_total",
		Help: "Delivery attempts by channel, adapter and result (sent, retry, failed).",
	}, []string{"channel", "adapter", "result"})
	w.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "notification_queue_to_sent_seconds",
		Help:    "Time from accepting a notification to the provider accepting it.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"channel"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.deliveries, w.latency, &queueGauges{store: store, now: opts.Now})
	}
	return w
}

// Notify asks for immediate delivery of freshly queued logs.
func (w *Worker) Notify(ids ...string) {
	if w.opts.Concurrency < 0 {
		return
	}
	for _, id := range ids {
		select {
		case w.hints <- id:
		default:
			// Full: the next poll finds them anyway.
			w.Kick()
			return
		}
	}
}

// Kick asks for a poll now.
func (w *Worker) Kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then lets the deliveries in flight finish
// (each bounded by SendTimeout) so none is cut between send and record.
func (w *Worker) Run(ctx context.Context) {
	if w.opts.Concurrency < 0 {
		w.log.Info("delivery disabled on this instance (WORKER_CONCURRENCY < 0)")
		<-ctx.Done()
		return
	}
	sem := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	dispatch := func(id string) bool {
		w.mu.Lock()
		if w.inflight[id] {
			w.mu.Unlock()
			return true
		}
		w.inflight[id] = true
		w.mu.Unlock()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			w.done(id)
			return false
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; w.done(id); wg.Done() }()
			if _, err := w.process(ctx, id, false); err != nil && ctx.Err() == nil {
				w.log.Warn("delivery round failed", "log_id", id, "err", err.Error())
			}
		}()
		return true
	}
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	poll := func() {
		ids, err := w.store.DueLogs(ctx, w.opts.Now().UTC(), w.opts.Batch)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("looking for due notifications failed", "err", err.Error())
			}
			return
		}
		// Instances polling together start at different places.
		mrand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		for _, id := range ids {
			if !dispatch(id) {
				return
			}
		}
	}
	poll()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-w.hints:
			dispatch(id)
		case <-t.C:
			poll()
		case <-w.wake:
			poll()
		}
	}
}

func (w *Worker) done(id string) {
	w.mu.Lock()
	delete(w.inflight, id)
	w.mu.Unlock()
}

// DeliverNow delivers one log in the caller's request (an urgent send) and
// returns its state afterwards. When another holder has the log, the state
// is returned as it is.
func (w *Worker) DeliverNow(ctx context.Context, id string) (Log, error) {
	l, err := w.process(ctx, id, true)
	if err != nil {
		return Log{}, err
	}
	if l != nil {
		return *l, nil
	}
	return w.store.GetLog(ctx, id)
}

// process takes the lease on a log, re-reads it, sends it if it is still
// due, and records the outcome. It returns the log as recorded (nil when it
// did not deliver).
func (w *Worker) process(ctx context.Context, id string, evenIfNotDue bool) (*Log, error) {
	lease, err := w.store.leases.Acquire(ctx, leaseResourcePrefix+id, w.opts.Lease)
	if err != nil || lease == nil {
		return nil, err
	}
	var result *Log
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		release := lease.Release
		if result != nil && result.Status == StatusSent {
			// A SENT log is never delivered again: its claim can go, which
			// keeps the lease collection small.
			release = lease.Drop
		}
		if err := release(rctx); err != nil {
			w.log.Warn("releasing a delivery lease failed (it expires by itself)", "log_id", id, "err", err.Error())
		}
	}()
	l, err := w.store.GetLog(ctx, id)
	if err != nil {
		return nil, err
	}
	// The list we picked it from may be stale: another instance may have
	// sent it, or rescheduled it, in the meantime.
	if l.Status != StatusPending || (!evenIfNotDue && l.NextAttemptAt.After(w.opts.Now())) {
		return nil, nil
	}
	result, err = w.attempt(ctx, l)
	return result, err
}

func (w *Worker) attempt(ctx context.Context, l Log) (*Log, error) {
	sender := w.senders[l.Channel]
	var (
		pid     string
		sendErr error
		adapter = "none"
	)
	if sender == nil {
		sendErr = Permanent(fmt.Errorf("no adapter is configured for channel %s", l.Channel))
	} else {
		adapter = sender.Name()
		msg := Message{LogID: l.ID, NotificationType: l.NotificationType, To: l.RecipientContact, Subject: l.RenderedSubject, Text: l.RenderedBody}
		if l.RenderedBodyText != "" {
			msg.HTML, msg.Text = l.RenderedBody, l.RenderedBodyText
		}
		// The send and its record finish even when the service is
		// stopping: cutting between them would send the message twice.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.SendTimeout)
		pid, sendErr = sender.Send(sctx, msg)
		cancel()
	}
	now := w.opts.Now().UTC().Truncate(time.Millisecond)
	l.Attempts++
	l.UpdatedAt = now
	set := bson.D{{Key: "attempts", Value: l.Attempts}, {Key: "updated_at", Value: now}}
	var result string
	switch {
	case sendErr == nil:
		result = "sent"
		l.Status, l.SentAt, l.ProviderMessageID, l.ErrorMessage, l.SentBy = StatusSent, &now, &pid, nil, w.opts.Instance
		set = append(set, bson.E{Key: "status", Value: StatusSent}, bson.E{Key: "sent_at", Value: now},
			bson.E{Key: "provider_message_id", Value: pid}, bson.E{Key: "error_message", Value: nil},
			bson.E{Key: "sent_by", Value: w.opts.Instance})
		w.latency.WithLabelValues(l.Channel).Observe(now.Sub(l.CreatedAt).Seconds())
	case IsPermanent(sendErr) || l.Attempts >= w.opts.MaxAttempts:
		result = "failed"
		msg := clipString(sendErr.Error(), 1000)
		if !IsPermanent(sendErr) {
			msg = fmt.Sprintf("gave up after %d attempts: %s", l.Attempts, msg)
		}
		l.Status, l.ErrorMessage = StatusFailed, &msg
		set = append(set, bson.E{Key: "status", Value: StatusFailed}, bson.E{Key: "error_message", Value: msg})
	default:
		result = "retry"
		msg := clipString(sendErr.Error(), 1000)
		l.NextAttemptAt, l.ErrorMessage = now.Add(w.backoff(l.Attempts)), &msg
		set = append(set, bson.E{Key: "next_attempt_at", Value: l.NextAttemptAt}, bson.E{Key: "error_message", Value: msg})
	}
	w.deliveries.WithLabelValues(l.Channel, adapter, result).Inc()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := w.store.UpdateLog(wctx, l.ID, set); err != nil {
		// Not recorded: the lease expires and the log is tried again. For a
		// sent message that is a duplicate, which beats a lost one.
		return nil, fmt.Errorf("record delivery of %s: %w", l.ID, err)
	}
	attrs := []any{"log_id", l.ID, "channel", l.Channel, "adapter", adapter, "attempt", l.Attempts, "notification_type", l.NotificationType}
	switch result {
	case "sent":
		w.log.Info("notification sent", attrs...)
	case "failed":
		w.log.Error("notification failed for good", append(attrs, "err", *l.ErrorMessage)...)
	default:
		w.log.Warn("notification delivery failed; will retry", append(attrs, "next_attempt_at", l.NextAttemptAt.Format(time.RFC3339), "err", *l.ErrorMessage)...)
	}
	return &l, nil
}

// backoff is exponential with ±20% jitter, so logs that failed together do
// not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	exp := float64(w.opts.BackoffBase) * math.Pow(2, float64(min(attempt-1, 30)))
	d := time.Duration(min(exp, float64(w.opts.BackoffMax)))
	return d + time.Duration(mrand.Int64N(int64(d)/5+1)) - d/10
}

// PurgeLeases removes lease records older than the retention (run hourly as
// housekeeping).
func (w *Worker) PurgeLeases(ctx context.Context) error {
	n, err := w.store.leases.Purge(ctx, w.opts.LeaseRetention)
	if err != nil {
		return err
	}
	if n > 0 {
		w.log.Info("purged old delivery leases", "count", n)
	}
	return nil
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// queueGauges reports the queue at scrape time.
type queueGauges struct {
	store *Store
	now   func() time.Time
}

var (
	descLogs   = prometheus.NewDesc("notification_logs", "Notification logs waiting (PENDING) or given up (FAILED), by channel.", []string{"channel", "status"}, nil)
	descOldest = prometheus.NewDesc("notification_oldest_pending_age_seconds", "Age of the oldest PENDING notification.", nil, nil)
)

func (g *queueGauges) Describe(ch chan<- *prometheus.Desc) { ch <- descLogs; ch <- descOldest }

func (g *queueGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, oldest, err := g.store.QueueStats(ctx, g.now().UTC())
	if err != nil {
		return
	}
	for _, c := range Channels {
		for _, st := range []string{StatusPending, StatusFailed} {
			ch <- prometheus.MustNewConstMetric(descLogs, prometheus.GaugeValue, float64(counts[[2]string{c, st}]), c, st)
		}
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, oldest.Seconds())
}
