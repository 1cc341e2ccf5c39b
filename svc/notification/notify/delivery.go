package notify

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WorkerOptions tune delivery; zero values take the defaults.
type WorkerOptions struct {
	// Concurrency is the number of messages in flight (8), each on its own
	// provider connection. Negative: this instance delivers nothing (API
	// only); its queued logs wait for other instances.
	Concurrency int
	Batch       int           // logs claimed together (250)
	Poll        time.Duration // how often to look for due logs (1s)
	Lease       time.Duration // exclusive hold on a log while delivering (2m)
	SendTimeout time.Duration // one provider call (20s); well below Lease
	MaxAttempts int           // attempts before a log ends FAILED (6)
	BackoffBase time.Duration // delay after the first failed attempt (10s)
	BackoffMax  time.Duration // longest delay between attempts (15m)

	// LiveMaxAttempts, when set, is MaxAttempts as it is now, read at every
	// attempt: the live setting notification.max_attempts (lib/settings).
	LiveMaxAttempts func() int

	// Backlog bounds the logs handed straight to this instance's worker
	// (Batch*20); beyond it, new logs wait for a poll by any instance.
	Backlog int
	// Instance names this process in sent_by and in claims.
	Instance   string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

const defaultSendTimeout = 20 * time.Second

// storeTimeout bounds each store operation of delivery, so that a database
// that stops answering holds up a round, never the worker: what a failed
// operation leaves (claims without outcomes) is taken over after the lease.
const storeTimeout = 15 * time.Second

// workerStore is what delivery needs of the store.
type workerStore interface {
	Queue
	GetLogs(ctx context.Context, ids []string) ([]Log, error)
	Contents(ctx context.Context, ids []string) (map[string]*Content, error)
}

// Worker delivers PENDING logs. The log collection is the queue. The
// instance that accepted a send hands the new logs straight to its worker
// and reserves them for one lease (their next attempt moves a lease ahead),
// so other instances leave them alone; every instance also polls for due
// logs: retries, and the work of instances that stopped. Logs are delivered
// in rounds: claim a batch in one write (exactly one instance wins each
// log, see Queue), send on Concurrency provider connections at once, then
// record the outcomes in one write: SENT with the provider's id, PENDING
// again with a later next_attempt_at, or FAILED with the reason.
type Worker struct {
	store   workerStore
	senders Senders
	opts    WorkerOptions
	log     *slog.Logger
	running atomic.Bool
	wake    chan struct{}
	// recording is held while a round's outcomes are written, which
	// overlaps the next round's claims and sends.
	recording chan struct{}

	mu      sync.Mutex
	pending []Log
	// batch numbers the batches of reservations (see Log.Holder), and
	// reserved counts the reservations in the current one.
	batch, reserved int

	metrics metrics
}

// NewWorker returns a worker sending through senders.
func NewWorker(store workerStore, senders Senders, opts WorkerOptions) *Worker {
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.Batch <= 0 {
		opts.Batch = 250
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.Lease == 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.SendTimeout == 0 {
		opts.SendTimeout = defaultSendTimeout
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
	if opts.Backlog == 0 {
		opts.Backlog = opts.Batch * 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Instance == "" {
		opts.Instance = "worker-" + randomHex(6)
	}
	w := &Worker{store: store, senders: senders, opts: opts, log: opts.Logger,
		wake: make(chan struct{}, 1), recording: make(chan struct{}, 1)}
	w.metrics = newMetrics(store, opts.Now, opts.Registerer)
	return w
}

func (w *Worker) now() time.Time { return w.opts.Now().UTC().Truncate(time.Millisecond) }

// reservation is how far ahead a new log's first attempt is put, and the
// holder it is reserved for, so that only this instance's worker, to which
// it is handed, takes it; zero and nobody when this instance will not
// deliver it soon (not delivering, or backlogged).
func (w *Worker) reservation() (time.Duration, string) {
	if w == nil || !w.running.Load() {
		return 0, ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) >= w.opts.Backlog {
		return 0, ""
	}
	if w.reserved >= w.opts.Batch {
		w.batch, w.reserved = w.batch+1, 0
	}
	w.reserved++
	return w.opts.Lease, w.opts.Instance + "/" + strconv.Itoa(w.batch)
}

// heldBatch is a fresh holder for a round of polled logs.
func (w *Worker) heldBatch() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batch, w.reserved = w.batch+1, 0
	return w.opts.Instance + "/" + strconv.Itoa(w.batch)
}

// messageID is the name channel's adapter gives a log's message, if it
// names messages itself.
func (w *Worker) messageID(channel, logID string) *string {
	if w == nil {
		return nil
	}
	if n, ok := w.senders[channel].(MessageNamer); ok {
		id := n.MessageID(logID)
		return &id
	}
	return nil
}

// instance names this worker's instance ("" for none).
func (w *Worker) instance() string {
	if w == nil {
		return ""
	}
	return w.opts.Instance
}

// Enqueue hands freshly queued logs, with their content, to this instance's
// worker.
func (w *Worker) Enqueue(logs []Log) {
	if w == nil || len(logs) == 0 || !w.running.Load() {
		return
	}
	w.mu.Lock()
	w.pending = append(w.pending, logs...)
	w.mu.Unlock()
	w.Kick()
}

// Kick asks for a look at the queue now.
func (w *Worker) Kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) take(n int) []Log {
	w.mu.Lock()
	defer w.mu.Unlock()
	n = min(n, len(w.pending))
	if n == 0 {
		return nil
	}
	out := make([]Log, n)
	copy(out, w.pending)
	w.pending = w.pending[n:]
	if len(w.pending) == 0 {
		w.pending = nil
	}
	return out
}

// Run delivers until ctx ends, then finishes the round in flight (each
// send bounded by SendTimeout, so none is cut between send and record) and
// gives the logs it had reserved back to the other instances.
func (w *Worker) Run(ctx context.Context) {
	if w.opts.Concurrency < 0 {
		w.log.Info("delivery disabled on this instance (WORKER_CONCURRENCY < 0)")
		<-ctx.Done()
		return
	}
	w.running.Store(true)
	defer w.releaseReserved()
	// The last round's outcomes are written before the worker stops.
	defer func() { w.recording <- struct{}{}; <-w.recording }()
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	poll := true
	var swept time.Time
	for ctx.Err() == nil {
		select {
		case <-t.C:
			poll = true
		default:
		}
		if batch := w.take(w.opts.Batch); len(batch) > 0 {
			w.round(ctx, batch, false)
			continue
		}
		if poll {
			poll = false
			// Logs reserved for an instance are left out of the polls (an
			// equality on holder, which the database filters rather than
			// the store reading every log); once a lease, the sweep looks
			// at them too, for reservations that ran out.
			sweep := time.Since(swept) >= w.opts.Lease/2
			if sweep {
				swept = time.Now()
			}
			dctx, cancel := context.WithTimeout(ctx, storeTimeout)
			due, err := w.store.DueLogs(dctx, w.opts.Now().UTC(), w.opts.Batch, sweep)
			cancel()
			if err != nil && ctx.Err() == nil {
				w.log.Warn("looking for due notifications failed", "err", err.Error())
			}
			if len(due) > 0 {
				w.round(ctx, due, true)
				// A full batch: there may be more waiting.
				poll = len(due) == w.opts.Batch
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
			poll = true
		}
	}
}

// releaseReserved makes the logs handed to this worker but not delivered
// due at once, for the instances that go on.
func (w *Worker) releaseReserved() {
	w.running.Store(false)
	w.mu.Lock()
	left := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(left) == 0 {
		return
	}
	ids := make([]string, len(left))
	for i, l := range left {
		ids[i] = l.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.store.Reschedule(ctx, ids, w.now(), ""); err != nil {
		w.log.Warn("handing reserved notifications back failed (they are taken over after one lease)", "count", len(ids), "err", err.Error())
	}
}
