package svcclient

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is what one attempt says about the instance and service that
// answered it.
type outcome int

const (
	// excluded: the caller cancelled, or the caller's own body failed; it
	// says nothing about the service.
	excluded outcome = iota
	// answered: any answer below 500, the service did its job (a 4xx is the
	// caller's input, not the service's health).
	answered
	// appError: 500, 501, 505 and up. The application failed this request;
	// usually the request's fault (a bug its input reaches), so it never
	// trips the service's breaker. It counts towards one instance's failure
	// ratio, which only ejects an instance that fails where its peers do not.
	appError
	// unhealthy: transport errors, timeouts, 502/503/504. The service (or
	// this instance) could not answer at all: these trip the breaker.
	unhealthy
)

// classify judges one attempt.
func classify(ctx context.Context, resp *http.Response, err error) outcome {
	if err != nil {
		var be *BodyError
		if errors.As(err, &be) || errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled) {
			return excluded
		}
		return unhealthy
	}
	switch {
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable,
		resp.StatusCode == http.StatusGatewayTimeout:
		return unhealthy
	case resp.StatusCode >= 500:
		return appError
	}
	return answered
}

// OutlierOptions tune per-instance outlier ejection; zero values take the
// defaults. An ejected instance gets no calls (unless every instance is
// ejected) until its time is up; the last instance in rotation is never
// ejected.
type OutlierOptions struct {
	// ConsecutiveFailures transport errors, timeouts or 502/503/504 in a row
	// eject an instance (default 3).
	ConsecutiveFailures int
	// Window is how far back an instance's failure ratio looks (default 10s).
	Window time.Duration
	// MinRequests is how many answers an instance, and its peers together,
	// need in the window before their ratios are compared (default 10).
	MinRequests int
	// FailureRatio is the share of 5xx answers and transport errors that
	// makes an instance an outlier (default 0.5), provided its peers' share
	// is at most half of its own.
	FailureRatio float64
	// EjectFor is the first ejection's length (default 2s); each further
	// ejection of the same instance lasts one EjectFor longer, up to
	// MaxEjectFor (default 30s).
	EjectFor    time.Duration
	MaxEjectFor time.Duration
	// Disabled turns ejection off.
	Disabled bool
}

func (o *OutlierOptions) defaults() {
	if o.ConsecutiveFailures <= 0 {
		o.ConsecutiveFailures = 3
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.MinRequests <= 0 {
		o.MinRequests = 10
	}
	if o.FailureRatio <= 0 {
		o.FailureRatio = 0.5
	}
	if o.EjectFor <= 0 {
		o.EjectFor = 2 * time.Second
	}
	if o.MaxEjectFor < o.EjectFor {
		o.MaxEjectFor = max(30*time.Second, o.EjectFor)
	}
}

// outliers keeps each instance's recent answers, per service.
type outliers struct {
	opts    OutlierOptions
	log     *slog.Logger
	onEject func(service, instance, reason string, d time.Duration)

	// ejectedN counts instances that have been ejected and are still
	// known: while it is zero (the normal case) picking an instance takes
	// no lock.
	ejectedN atomic.Int32

	mu        sync.Mutex
	byService map[string]map[string]*instanceHealth
}

type window struct{ requests, failures int }

type instanceHealth struct {
	consecutive  int
	start        time.Time
	cur, prev    window
	ejectedUntil time.Time
	lastEjection time.Time
	ejections    int
	counted      bool // in outliers.ejectedN
}

func newOutliers(opts OutlierOptions, log *slog.Logger, onEject func(service, instance, reason string, d time.Duration)) *outliers {
	opts.defaults()
	return &outliers{opts: opts, log: log, onEject: onEject, byService: map[string]map[string]*instanceHealth{}}
}

// ejected reports whether instance id of service is out of rotation.
func (o *outliers) ejected(service, id string, now time.Time) bool {
	if o.ejectedN.Load() == 0 {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.byService[service][id]
	return h != nil && now.Before(h.ejectedUntil)
}

// record takes one attempt's outcome on instance id of service, which has
// n healthy instances, and ejects the instance if it has become an outlier.
func (o *outliers) record(service, id string, out outcome, n int, now time.Time) {
	if o.opts.Disabled || out == excluded || id == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	insts := o.byService[service]
	if insts == nil {
		insts = map[string]*instanceHealth{}
		o.byService[service] = insts
	}
	h := insts[id]
	if h == nil {
		h = &instanceHealth{start: now}
		insts[id] = h
	}
	if now.Before(h.ejectedUntil) {
		return // an answer to a call sent before the ejection
	}
	h.roll(now, o.opts.Window)
	h.cur.requests++
	switch out {
	case unhealthy:
		h.consecutive++
		h.cur.failures++
	case appError:
		h.consecutive = 0
		h.cur.failures++
	default:
		h.consecutive = 0
		return
	}
	reason := ""
	switch {
	case out == unhealthy && h.consecutive >= o.opts.ConsecutiveFailures:
		reason = "consecutive_failures"
	case o.outlierByRatio(insts, h, now):
		reason = "failure_ratio"
	default:
		return
	}
	ejected := 0
	for _, other := range insts {
		if now.Before(other.ejectedUntil) {
			ejected++
		}
	}
	if ejected+1 >= n {
		return // never take the last instance out of rotation
	}
	o.eject(service, id, h, reason, now)
}

// outlierByRatio: h fails mostly, where its peers, together, fail at most
// half as often. A client whose requests fail everywhere (its own bad input)
// fails on every instance alike and so ejects none.
func (o *outliers) outlierByRatio(insts map[string]*instanceHealth, h *instanceHealth, now time.Time) bool {
	mine := h.total()
	if mine.requests < o.opts.MinRequests || float64(mine.failures) < o.opts.FailureRatio*float64(mine.requests) {
		return false
	}
	var peers window
	for _, other := range insts {
		if other == h || now.Before(other.ejectedUntil) {
			continue
		}
		other.roll(now, o.opts.Window)
		t := other.total()
		peers.requests += t.requests
		peers.failures += t.failures
	}
	if peers.requests < o.opts.MinRequests {
		return false
	}
	myRatio := float64(mine.failures) / float64(mine.requests)
	return float64(peers.failures)/float64(peers.requests) <= myRatio/2
}

func (o *outliers) eject(service, id string, h *instanceHealth, reason string, now time.Time) {
	if now.Sub(h.lastEjection) > 2*o.opts.MaxEjectFor {
		h.ejections = 0 // long enough ago: start over
	}
	h.ejections++
	d := min(time.Duration(h.ejections)*o.opts.EjectFor, o.opts.MaxEjectFor)
	h.ejectedUntil, h.lastEjection = now.Add(d), now
	h.consecutive, h.cur, h.prev, h.start = 0, window{}, window{}, now.Add(d)
	if !h.counted {
		h.counted = true
		o.ejectedN.Add(1)
	}
	o.log.Warn("instance ejected from rotation", "target", service, "instance", id, "reason", reason, "for", d.String())
	if o.onEject != nil {
		o.onEject(service, id, reason, d)
	}
}

// keep forgets the instances of service that are no longer in ids (gone
// from Consul's passing list): when one comes back it starts afresh.
func (o *outliers) keep(service string, ids map[string]bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, h := range o.byService[service] {
		if !ids[id] {
			if h.counted {
				o.ejectedN.Add(-1)
			}
			delete(o.byService[service], id)
		}
	}
}

// roll moves the window on: the previous period still counts, older not.
func (h *instanceHealth) roll(now time.Time, w time.Duration) {
	switch age := now.Sub(h.start); {
	case age < w:
		return
	case age < 2*w:
		h.prev = h.cur
	default:
		h.prev = window{}
	}
	h.cur, h.start = window{}, now
}

func (h *instanceHealth) total() window {
	return window{requests: h.cur.requests + h.prev.requests, failures: h.cur.failures + h.prev.failures}
}
