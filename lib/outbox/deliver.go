package outbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"

	"hospital/lib/discovery"
	"hospital/lib/svcclient"
)

func (d *Dispatcher) deliver(ctx context.Context, m Claimed) Result {
	req := svcclient.Request{
		Service: m.Service, Method: m.Method, Path: m.Path, Body: m.Body,
		IdempotencyKey: m.Key, Timeout: d.opts.CallTimeout, Header: http.Header{},
	}
	if m.RequestID != "" {
		req.Header.Set(svcclient.HeaderRequestID, m.RequestID)
	}
	resp, err := d.client.Do(ctx, req)
	now := time.Now().UTC()
	o := Outcome{At: now}
	var ue *svcclient.UnavailableError
	switch {
	case ctx.Err() != nil:
		// Shutting down: the receiver may or may not have it; another
		// instance (or this one, restarted) sends it again at once.
		o.Result, o.Next, o.Error = Deferred, now, "dispatcher stopped during delivery"
	case errors.As(err, &ue) && refusedByBreaker(ue):
		o.Result, o.Next, o.Error = Deferred, now.Add(ue.RetryAfter), clipStr(err.Error())
		d.pause(m.Service, pauseBreaker, ue.RetryAfter)
	case errors.As(err, &ue) && errors.Is(ue.Err, discovery.ErrNoInstances):
		o.Result, o.Next, o.Error = Deferred, now.Add(d.opts.NoInstanceWait), clipStr(err.Error())
		d.pause(m.Service, pauseNoInstance, d.opts.NoInstanceWait)
	case err != nil:
		o.Result, o.Next, o.Error = Retry, now.Add(d.backoff(m.Attempts+1)), clipStr(err.Error())
	case resp.Status >= 200 && resp.Status < 300:
		o.Result, o.Status = Delivered, resp.Status
	case permanent(resp.Status):
		o.Result, o.Status = Refused, resp.Status
		o.Error = fmt.Sprintf("receiver refused with %d: %s", resp.Status, clip(resp.Body))
		d.log.Error("outbox message refused by receiver; needs an operator", "key", m.Key, "target", m.Service, "status", resp.Status)
	default:
		o.Result, o.Status, o.Next = Retry, resp.Status, now.Add(d.backoff(m.Attempts+1))
		o.Error = fmt.Sprintf("status %d: %s", resp.Status, clip(resp.Body))
	}
	if o.Result == Retry {
		d.log.Warn("outbox delivery failed; will retry", "key", m.Key, "target", m.Service,
			"attempt", m.Attempts+1, "next_attempt_at", o.Next.Format(time.RFC3339), "err", o.Error)
	}
	d.deliveries.WithLabelValues(m.Service, resultLabel[o.Result]).Inc()
	// Recorded even when shutting down: an unrecorded outcome would hold
	// the message until its lease runs out.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.q.Record(rctx, m, o); err != nil {
		d.log.Error("outbox: cannot record delivery result", "key", m.Key, "err", err.Error())
	}
	return o.Result
}

var resultLabel = map[Result]string{Delivered: "delivered", Refused: "failed", Retry: "retry", Deferred: "deferred"}

// refusedByBreaker: the client did not call the target at all.
func refusedByBreaker(ue *svcclient.UnavailableError) bool {
	return errors.Is(ue.Err, gobreaker.ErrOpenState) || errors.Is(ue.Err, gobreaker.ErrTooManyRequests)
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
	// ±10% jitter keeps instances that failed together from retrying together.
	jitter := time.Duration(mrand.Int64N(int64(delay)/5+1)) - delay/10
	return delay + jitter
}
