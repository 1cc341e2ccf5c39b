// Package svcclient is the one way a service calls another: an instance from
// discovery (skipping instances ejected as outliers), retries with
// go-retryablehttp (only where a repeat is safe), a gobreaker circuit breaker
// per downstream service that measures the service's health rather than any
// one caller's input, a service token, and the request ID, caller identity
// and end client's address passed along.
package svcclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"hospital/lib/auth"
	"hospital/lib/discovery"
)

// maxResponseBody bounds what Do reads into memory.
const maxResponseBody = 32 << 20

// noInstanceRetryAfter is what a caller is told to wait when a service has
// no healthy instance: a restarted instance is usually back within seconds.
const noInstanceRetryAfter = 2 * time.Second

// Options tune a Client; zero values take the defaults.
type Options struct {
	// AttemptTimeout bounds each attempt; the caller's deadline bounds all.
	AttemptTimeout time.Duration
	// RetryMax is the number of retries after the first attempt.
	RetryMax     int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// BreakerFailures consecutive failures of a service (transport errors,
	// timeouts, 502/503/504) open its breaker (default 5).
	BreakerFailures uint32
	// BreakerOpenFor is how long an open breaker fails fast before it lets
	// one probe through (default 1s); the probe's success closes it. A new
	// passing instance in Consul closes it at once.
	BreakerOpenFor time.Duration
	// Outliers tune per-instance ejection.
	Outliers   OutlierOptions
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Client calls other services by name.
type Client struct {
	caller   string
	resolver *discovery.Resolver
	tokens   auth.TokenSource
	retry    *retryablehttp.Client
	http     *http.Client
	opts     Options
	log      *slog.Logger
	// callerHdr is the X-Caller-Service value, shared by every call.
	callerHdr []string
	breakers  *breakers
	outliers  *outliers
	metrics   *metrics

	mu          sync.Mutex
	known       map[string]map[string]bool // service → passing instance IDs
	onAvailable []func(service string)
}

// New returns a client for the service named caller.
func New(caller string, resolver *discovery.Resolver, opts Options) *Client {
	if opts.AttemptTimeout == 0 {
		opts.AttemptTimeout = 5 * time.Second
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 2
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 50 * time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = time.Second
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerOpenFor == 0 {
		opts.BreakerOpenFor = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Client{caller: caller, resolver: resolver, opts: opts, log: opts.Logger,
		known: map[string]map[string]bool{}, metrics: newMetrics(opts.Registerer)}
	if caller != "" {
		c.callerHdr = []string{caller}
	}
	c.breakers = newBreakers(opts.BreakerFailures, gobreaker.Settings{
		Timeout: opts.BreakerOpenFor, OnStateChange: c.breakerChanged,
	})
	c.outliers = newOutliers(opts.Outliers, opts.Logger, func(service, _, reason string, _ time.Duration) {
		c.metrics.ejections.WithLabelValues(service, reason).Inc()
	})

	c.http = &http.Client{Timeout: opts.AttemptTimeout, Transport: newTransport()}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = c.http
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin = opts.RetryWaitMin
	rc.RetryWaitMax = opts.RetryWaitMax
	rc.CheckRetry = c.checkRetry
	rc.Backoff = jitterBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.PrepareRetry = c.prepareRetry
	c.retry = rc
	resolver.OnChange(c.instancesChanged)
	return c
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Keep enough idle connections per instance for the gateway's
	// concurrency, so a busy client does not open and close connections.
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// SetTokenSource sets where service tokens come from.
func (c *Client) SetTokenSource(ts auth.TokenSource) { c.tokens = ts }

// OnAvailable registers fn, called (in its own goroutine) when a service may
// be called again: its breaker closed, or Consul reports a new passing
// instance of it. A sender with queued calls for the service retries them.
func (c *Client) OnAvailable(fn func(service string)) {
	c.mu.Lock()
	c.onAvailable = append(c.onAvailable, fn)
	c.mu.Unlock()
}

// Request is one call.
type Request struct {
	Service string
	Method  string
	// Path is the request path with any query string.
	Path string
	Body []byte
	// Stream is a body sent as it is read (instead of Body), for requests
	// that cannot be retried anyway; a retryable request's Stream is read
	// into memory first. Length is its size when known (else it is sent
	// chunked). A read error of Stream is a *BodyError.
	Stream io.Reader
	Length int64
	// Header is the outgoing request's header; the call takes it over (it
	// adds its own headers to it).
	Header http.Header
	// IdempotencyKey makes a non-idempotent request safe to retry.
	IdempotencyKey string
	// Anonymous sends no service token (JWKS, the token endpoint itself).
	Anonymous bool
	// Timeout bounds the whole call, retries included.
	Timeout time.Duration
}

// Retryable reports whether the request may be sent more than once.
func (r Request) Retryable() bool { return r.IdempotencyKey != "" || idempotent(r.Method) }

// Response is a completed call; the body is read in full.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Instance string
}

// Do performs req and reads the answer. A 5xx answer is returned as a
// Response; err is non-nil only when no answer was had.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	resp, done, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			done(excluded)
			return nil, fmt.Errorf("call %s: %w", req.Service, ctx.Err())
		}
		done(unhealthy)
		return nil, &UnavailableError{Service: req.Service, RetryAfter: time.Second, Reason: ReasonTransport,
			Err: fmt.Errorf("read answer: %w", err)}
	}
	done(classify(ctx, resp, nil))
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Instance: resp.Request.URL.Host}, nil
}

// Send performs req and returns the live answer, whose body the caller
// relays and closes (the gateway streams answers this way). The breaker
// judges the call by its status.
func (c *Client) Send(ctx context.Context, req Request) (*http.Response, error) {
	resp, done, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	done(classify(ctx, resp, nil))
	return resp, nil
}

// send picks an instance, asks the breaker, and makes the call (with
// retries where safe). done reports the call's final outcome to the breaker.
func (c *Client) send(ctx context.Context, req Request) (*http.Response, func(outcome), error) {
	tok, err := c.token(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	st := &attempt{service: req.Service, retryable: req.Retryable(), token: tok}
	inst, err := c.pick(ctx, st)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("call %s: %w", req.Service, ctx.Err())
		}
		c.metrics.call(req.Service, "no_instance")
		return nil, nil, &UnavailableError{Service: req.Service, RetryAfter: noInstanceRetryAfter, Reason: ReasonNoInstance, Err: err}
	}
	allow, err := c.breakers.get(req.Service).Allow()
	if err != nil {
		c.metrics.call(req.Service, "breaker_open")
		return nil, nil, &UnavailableError{Service: req.Service, RetryAfter: c.opts.BreakerOpenFor, Reason: ReasonBreakerOpen, Err: err}
	}
	done := func(o outcome) { allow(verdict(o)) }
	ctx = context.WithValue(ctx, attemptKey{}, st)
	resp, err := c.call(ctx, inst, req, st)
	if err != nil {
		o := classify(ctx, nil, err)
		done(o)
		switch {
		case o == excluded:
			c.metrics.call(req.Service, "canceled")
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("call %s: %w", req.Service, ctx.Err())
			}
			return nil, nil, err
		case ctx.Err() != nil:
			// The caller's deadline: the service was too slow, which the
			// breaker counted; the caller maps it (a handler to 504).
			c.metrics.call(req.Service, "timeout")
			return nil, nil, fmt.Errorf("call %s: %w", req.Service, ctx.Err())
		}
		c.metrics.call(req.Service, "transport_error")
		return nil, nil, &UnavailableError{Service: req.Service, RetryAfter: time.Second, Reason: ReasonTransport, Err: err}
	}
	if resp.StatusCode >= 500 {
		c.metrics.call(req.Service, "5xx")
	} else {
		c.metrics.call(req.Service, "ok")
	}
	return resp, done, nil
}

// call makes the HTTP exchange with inst: through go-retryablehttp when a
// repeat is safe, else once, streaming the body.
func (c *Client) call(ctx context.Context, inst discovery.Instance, req Request, st *attempt) (*http.Response, error) {
	url := "http://" + inst.Address + req.Path
	if st.retryable {
		body := req.Body
		if req.Stream != nil {
			b, err := io.ReadAll(req.Stream)
			if err != nil {
				return nil, &BodyError{Err: err}
			}
			body = b
		}
		var rb any
		if body != nil {
			rb = body
		}
		rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, url, rb)
		if err != nil {
			return nil, fmt.Errorf("build request to %s: %w", req.Service, err)
		}
		c.setHeaders(ctx, rreq.Request, req, len(body) > 0)
		return c.retry.Do(rreq)
	}

	var body io.Reader
	var cb *clientBody
	switch {
	case req.Stream != nil:
		cb = &clientBody{r: req.Stream}
		body = cb
	case req.Body != nil:
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, url, body)
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", req.Service, err)
	}
	if cb != nil && req.Length > 0 {
		hreq.ContentLength = req.Length
	}
	c.setHeaders(ctx, hreq, req, body != nil)
	resp, err := c.http.Do(hreq)
	if cb != nil && cb.err != nil {
		// The caller's body failed (client gone, or over its size limit):
		// not the service's doing, whatever the transport made of it.
		if resp != nil {
			resp.Body.Close()
		}
		return nil, &BodyError{Err: cb.err}
	}
	c.record(ctx, st, inst.ID, resp, err)
	return resp, err
}

// clientBody remembers why the caller's body could not be read.
type clientBody struct {
	r   io.Reader
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// JSON sends in (if not nil) as JSON and decodes a 2xx answer into out (if
// not nil). A non-2xx answer is a *StatusError.
func (c *Client) JSON(ctx context.Context, service, method, path string, in, out any, opts ...func(*Request)) error {
	req := Request{Service: service, Method: method, Path: path}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request to %s: %w", service, err)
		}
		req.Body = b
	}
	for _, o := range opts {
		o(&req)
	}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return &StatusError{Service: service, Status: resp.Status, Body: resp.Body}
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("decode answer from %s: %w", service, err)
		}
	}
	return nil
}

// WithIdempotencyKey marks a JSON call as safe to retry.
func WithIdempotencyKey(key string) func(*Request) {
	return func(r *Request) { r.IdempotencyKey = key }
}

// Anonymous sends a JSON call without a service token.
func Anonymous() func(*Request) { return func(r *Request) { r.Anonymous = true } }
