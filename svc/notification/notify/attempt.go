package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"time"
)

// claimMargin is what a claim must have left beyond one send for a message
// to go out under it; a shorter claim may expire mid-send and let another
// instance send the message too.
const claimMargin = 2 * time.Second

var errContentGone = errors.New("its content is no longer kept; the sender must send it again")

// attemptResult is one delivery attempt: the outcome to record, the log as
// it stands afterwards, and whether a failure may pass.
type attemptResult struct {
	Outcome
	log       Log
	temporary bool
}

// attempt sends l once under claim and works out its outcome. ok is false
// when the claim is too short to send under (the log is left to the next
// holder).
func (w *Worker) attempt(ctx context.Context, l Log, claim Claim, content *Content) (attemptResult, bool) {
	if claim.Until.Sub(w.opts.Now()) < w.opts.SendTimeout+claimMargin {
		return attemptResult{}, false
	}
	sender := w.senders[l.Channel]
	var (
		pid     string
		sendErr error
		adapter = "none"
	)
	switch {
	case sender == nil:
		sendErr = Permanent(fmt.Errorf("no adapter is configured for channel %s", l.Channel))
	case content == nil:
		sendErr = Permanent(errContentGone)
	default:
		adapter = sender.Name()
		msg := Message{LogID: l.ID, NotificationType: l.NotificationType, To: l.RecipientContact, Subject: content.Subject, Text: content.Body}
		if content.BodyText != "" {
			msg.HTML, msg.Text = content.Body, content.BodyText
		}
		// The send and its record finish even when the service is
		// stopping: cutting between them would send the message twice.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.SendTimeout)
		pid, sendErr = sender.Send(sctx, msg)
		cancel()
	}
	r := w.outcome(l, claim, pid, sendErr)
	w.metrics.deliveries.WithLabelValues(l.Channel, adapter, r.result()).Inc()
	attrs := []any{"log_id", l.ID, "channel", l.Channel, "adapter", adapter, "attempt", r.Attempts, "notification_type", l.NotificationType}
	switch r.Status {
	case StatusSent:
		w.metrics.latency.WithLabelValues(l.Channel).Observe(r.UpdatedAt.Sub(l.CreatedAt).Seconds())
		w.log.Info("notification sent", attrs...)
	case StatusFailed:
		w.log.Warn("notification failed", append(attrs, "temporary", r.temporary, "err", *r.ErrorMessage)...)
	default:
		w.log.Info("notification delivery failed; will retry", append(attrs, "next_attempt_at", r.NextAttemptAt.Format(time.RFC3339), "err", *r.ErrorMessage)...)
	}
	return r, true
}

// outcome is what an attempt leaves: SENT; PENDING again after a backoff
// for a temporary failure; FAILED for a permanent one, when the attempts
// are used up, or when nobody can try again (a sensitive message, whose
// content only its sender has).
func (w *Worker) outcome(l Log, claim Claim, pid string, sendErr error) attemptResult {
	now := w.now()
	r := attemptResult{Outcome: Outcome{
		LogID: l.ID, Seq: claim.Seq, Holder: l.Holder, Status: l.Status, Attempts: l.Attempts + 1, NextAttemptAt: l.NextAttemptAt,
		SentBy: l.SentBy, UpdatedAt: now,
	}}
	switch {
	case sendErr == nil:
		r.Status, r.SentAt, r.SentBy = StatusSent, &now, w.opts.Instance
		if l.ProviderMessageID == nil || *l.ProviderMessageID != pid {
			r.ProviderMessageID = &pid
		}
	case IsPermanent(sendErr):
		msg := clipString(sendErr.Error(), 1000)
		r.Status, r.ErrorMessage = StatusFailed, &msg
	case l.Sensitive:
		msg := "not delivered this time (" + clipString(sendErr.Error(), 1000) + "); its content is not kept, so its sender sends it again"
		r.Status, r.ErrorMessage, r.temporary = StatusFailed, &msg, true
	case r.Attempts >= w.maxAttempts():
		msg := fmt.Sprintf("gave up after %d attempts: %s", r.Attempts, clipString(sendErr.Error(), 1000))
		r.Status, r.ErrorMessage = StatusFailed, &msg
	default:
		msg := clipString(sendErr.Error(), 1000)
		r.Status, r.ErrorMessage, r.temporary = StatusPending, &msg, true
		r.NextAttemptAt = now.Add(w.backoff(r.Attempts))
	}
	r.log = l
	r.log.Status, r.log.Attempts, r.log.NextAttemptAt, r.log.UpdatedAt = r.Status, r.Attempts, r.NextAttemptAt, now
	r.log.SentAt, r.log.ErrorMessage, r.log.SentBy = r.SentAt, r.ErrorMessage, r.SentBy
	if r.ProviderMessageID != nil {
		r.log.ProviderMessageID = r.ProviderMessageID
	}
	r.log.Claims, r.log.Holder = claim.Seq, ""
	return r
}

func (r attemptResult) result() string {
	switch r.Status {
	case StatusSent:
		return "sent"
	case StatusFailed:
		return "failed"
	}
	return "retry"
}

// Delivery is what DeliverNow did: the log as it stands, whether this call
// made an attempt (another holder may have the log), and whether the
// attempt failed for now only.
type Delivery struct {
	Log       Log
	Attempted bool
	Temporary bool
}

// DeliverNow delivers one log within the caller's request (an urgent or
// sensitive send), with content from the request when the log does not
// keep it.
func (w *Worker) DeliverNow(ctx context.Context, l Log, content *Content) (Delivery, error) {
	jobs, err := w.claim(ctx, []Log{l}, func(l Log, _ Claim) bool {
		return l.Status == StatusPending || retryableSensitive(l)
	})
	if err != nil {
		return Delivery{}, err
	}
	if len(jobs) == 0 {
		cur, err := w.store.GetLogs(ctx, []string{l.ID})
		if err != nil || len(cur) == 0 {
			return Delivery{Log: l}, err
		}
		return Delivery{Log: cur[0]}, nil
	}
	j := jobs[0]
	if content == nil {
		content = j.log.Content
	}
	r, ok := w.attempt(ctx, j.log, j.claim, content)
	if !ok {
		return Delivery{Log: j.log}, nil
	}
	w.record(ctx, []Outcome{r.Outcome})
	return Delivery{Log: r.log, Attempted: true, Temporary: r.temporary}, nil
}

// backoff is exponential with ±10% jitter, so logs that failed together do
// not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	exp := float64(w.opts.BackoffBase) * math.Pow(2, float64(min(attempt-1, 30)))
	d := time.Duration(min(exp, float64(w.opts.BackoffMax)))
	return d + time.Duration(mrand.Int64N(int64(d)/5+1)) - d/10
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// maxAttempts is the number of attempts in force now.
func (w *Worker) maxAttempts() int {
	if w.opts.LiveMaxAttempts != nil {
		return w.opts.LiveMaxAttempts()
	}
	return w.opts.MaxAttempts
}
