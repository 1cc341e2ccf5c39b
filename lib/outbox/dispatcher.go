package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/mysqldb"
	"hospital/lib/svcclient"
)

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	Batch       int           // messages claimed per round (20)
	Lease       time.Duration // how long a claim lasts before another instance may take over (60s)
	Poll        time.Duration // how often to look for due messages without a kick (1s)
	BackoffBase time.Duration // first retry delay (1s)
	BackoffMax  time.Duration // longest retry delay (5m)
	CallTimeout time.Duration // one delivery attempt, retries included (15s)
	Concurrency int           // deliveries in flight (8)
	Registerer  prometheus.Registerer
	Logger      *slog.Logger
}

// Dispatcher delivers pending messages. Several instances may run against one
// database: a message is leased to one of them at a time.
type Dispatcher struct {
	db     *sql.DB
	client *svcclient.Client
	opts   Options
	log    *slog.Logger
	owner  string
	wake   chan struct{}

	deliveries *prometheus.CounterVec
}

// NewDispatcher returns a dispatcher sending through client.
func NewDispatcher(db *sql.DB, client *svcclient.Client, opts Options) *Dispatcher {
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
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	d := &Dispatcher{db: db, client: client, opts: opts, log: opts.Logger,
		owner: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1)}
	d.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outbox_delivery_attempts_total", Help: "Outbox delivery attempts by target and result (delivered, retry, failed).",
	}, []string{"target", "result"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(d.deliveries, &gauges{db: db})
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

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.round(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Warn("outbox round failed", "err", err.Error())
			}
			if n < d.opts.Batch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

type claimed struct {
	id        int64
	key       string
	service   string
	method    string
	path      string
	body      []byte
	attempts  int
	requestID sql.NullString
}

// round claims up to Batch due messages and delivers them; it returns how
// many it claimed.
func (d *Dispatcher) round(ctx context.Context) (int, error) {
	lease := d.owner + "-" + randHex(4)
	now := time.Now().UTC()
	var res sql.Result
	err := mysqldb.RetryOnConflict(ctx, func() error {
		var err error
		res, err = d.db.ExecContext(ctx, `UPDATE outbox_messages SET lease_owner = ?, lease_until = ?
			WHERE status = 'PENDING' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
			ORDER BY id LIMIT ?`, lease, now.Add(d.opts.Lease), now, now, d.opts.Batch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, nil
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, idempotency_key, target_service, method, path, body, attempts, request_id
		FROM outbox_messages WHERE lease_owner = ? AND status = 'PENDING'`, lease)
	if err != nil {
		return 0, fmt.Errorf("read claimed: %w", err)
	}
	var batch []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.key, &c.service, &c.method, &c.path, &c.body, &c.attempts, &c.requestID); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan claimed: %w", err)
		}
		batch = append(batch, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read claimed: %w", err)
	}

	sem := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	for _, c := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.deliver(ctx, lease, c)
		}()
	}
	wg.Wait()
	return len(batch), nil
}

func (d *Dispatcher) deliver(ctx context.Context, lease string, c claimed) {
	req := svcclient.Request{
		Service: c.service, Method: c.method, Path: c.path, Body: c.body,
		IdempotencyKey: c.key, Timeout: d.opts.CallTimeout, Header: http.Header{},
	}
	if c.requestID.Valid {
		req.Header.Set(svcclient.HeaderRequestID, c.requestID.String)
	}
	resp, err := d.client.Do(ctx, req)
	if ctx.Err() != nil {
		return // shutting down: the lease expires and someone retries
	}
	now := time.Now().UTC()
	switch {
	case err == nil && resp.Status >= 200 && resp.Status < 300:
		d.finish(ctx, lease, c, `status = 'DELIVERED', delivered_at = ?, last_status = ?, last_error = NULL`, now, resp.Status)
		d.deliveries.WithLabelValues(c.service, "delivered").Inc()
	case err == nil && permanent(resp.Status):
		msg := fmt.Sprintf("receiver refused with %d: %s", resp.Status, clip(resp.Body))
		d.finish(ctx, lease, c, `status = 'FAILED', last_status = ?, last_error = ?`, resp.Status, msg)
		d.deliveries.WithLabelValues(c.service, "failed").Inc()
		d.log.Error("outbox message refused by receiver; needs an operator", "key", c.key, "target", c.service, "status", resp.Status)
	default:
		status, msg := 0, ""
		if err != nil {
			msg = err.Error()
		} else {
			status, msg = resp.Status, fmt.Sprintf("status %d: %s", resp.Status, clip(resp.Body))
		}
		next := now.Add(d.backoff(c.attempts + 1))
		d.finish(ctx, lease, c, `next_attempt_at = ?, last_status = ?, last_error = ?`, next, nullInt(status), clipStr(msg))
		d.deliveries.WithLabelValues(c.service, "retry").Inc()
		d.log.Warn("outbox delivery failed; will retry", "key", c.key, "target", c.service,
			"attempt", c.attempts+1, "next_attempt_at", next.Format(time.RFC3339), "err", clipStr(msg))
	}
}

// finish applies set to the message if we still hold its lease.
func (d *Dispatcher) finish(ctx context.Context, lease string, c claimed, set string, args ...any) {
	args = append(args, c.id, lease)
	// A result that is not recorded means a redelivery when the lease runs
	// out, so a conflict with another instance's claim is retried.
	err := mysqldb.RetryOnConflict(ctx, func() error {
		_, err := d.db.ExecContext(ctx, `UPDATE outbox_messages SET `+set+`,
			attempts = attempts + 1, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ?`, args...)
		return err
	})
	if err != nil {
		d.log.Error("outbox: cannot record delivery result", "key", c.key, "err", err.Error())
	}
}

// permanent: the receiver understood and refused; retrying cannot help.
// Auth and throttling answers are not permanent (a fixed secret or a quieter
// moment makes them succeed).
func permanent(status int) bool {
	if status < 400 || status >= 500 {
		return false
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout,
		http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return true
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	exp := float64(d.opts.BackoffBase) * math.Pow(2, float64(min(attempt-1, 20)))
	delay := time.Duration(min(exp, float64(d.opts.BackoffMax)))
	// ±20% jitter keeps instances that failed together from retrying together.
	jitter := time.Duration(mrand.Int64N(int64(delay)/5+1)) - delay/10
	return delay + jitter
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

// gauges reports the outbox backlog at scrape time.
type gauges struct{ db *sql.DB }

var (
	descMessages = prometheus.NewDesc("outbox_messages", "Outbox messages by target and status (PENDING and FAILED).", []string{"target", "status"}, nil)
	descOldest   = prometheus.NewDesc("outbox_oldest_pending_age_seconds", "Age of the oldest undelivered message per target.", []string{"target"}, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) { ch <- descMessages; ch <- descOldest }

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := g.db.QueryContext(ctx, `SELECT target_service, status, COUNT(*), MIN(created_at)
		FROM outbox_messages WHERE status IN ('PENDING', 'FAILED') GROUP BY target_service, status`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var (
			target, status string
			n              float64
			oldest         time.Time
		)
		if rows.Scan(&target, &status, &n, &oldest) != nil {
			return
		}
		ch <- prometheus.MustNewConstMetric(descMessages, prometheus.GaugeValue, n, target, status)
		if status == StatusPending {
			ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, time.Since(oldest).Seconds(), target)
		}
	}
}
