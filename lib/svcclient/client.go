// Package svcclient is the one way a service calls another: an instance from
// discovery, retries with go-retryablehttp (only where a repeat is safe), a
// gobreaker circuit breaker per downstream service, a service token, and the
// request ID and caller identity passed along.
package svcclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/logging"
)

// Headers set on every outgoing call.
const (
	HeaderRequestID      = "X-Request-ID"
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderOnBehalfOf names the end user a service call is made for. It is
	// for audit logs only: receivers authorize on the service token.
	HeaderOnBehalfOf = "X-On-Behalf-Of"
	HeaderCaller     = "X-Caller-Service"
)

// maxResponseBody bounds what a call reads into memory.
const maxResponseBody = 32 << 20

// Options tune a Client; zero values take the defaults.
type Options struct {
	// AttemptTimeout bounds each attempt; the caller's deadline bounds all.
	AttemptTimeout time.Duration
	// RetryMax is the number of retries after the first attempt.
	RetryMax     int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// BreakerFailures consecutive failures open a downstream's breaker.
	BreakerFailures uint32
	// BreakerOpenFor is how long an open breaker fails fast before probing.
	BreakerOpenFor time.Duration
	Registerer     prometheus.Registerer
	Logger         *slog.Logger
}

// Client calls other services by name.
type Client struct {
	caller   string
	resolver *discovery.Resolver
	tokens   auth.TokenSource
	retry    *retryablehttp.Client
	opts     Options
	log      *slog.Logger

	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[*http.Response]

	calls        *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
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
		opts.BreakerOpenFor = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Client{caller: caller, resolver: resolver, opts: opts, log: opts.Logger,
		breakers: map[string]*gobreaker.CircuitBreaker[*http.Response]{}}

	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Timeout: opts.AttemptTimeout, Transport: newTransport()}
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin = opts.RetryWaitMin
	rc.RetryWaitMax = opts.RetryWaitMax
	rc.CheckRetry = checkRetry
	rc.Backoff = jitterBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.PrepareRetry = c.prepareRetry
	c.retry = rc

	c.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcclient_calls_total", Help: "Calls to other services, by target and outcome.",
	}, []string{"target", "outcome"})
	c.breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "svcclient_breaker_state", Help: "Circuit breaker state per target: 0 closed, 1 half-open, 2 open.",
	}, []string{"target"})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(c.calls, c.breakerState)
	}
	return c
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// SetTokenSource sets where service tokens come from.
func (c *Client) SetTokenSource(ts auth.TokenSource) { c.tokens = ts }

// Request is one call.
type Request struct {
	Service string
	Method  string
	// Path is the request path with any query string.
	Path   string
	Body   []byte
	Header http.Header
	// IdempotencyKey makes a non-idempotent request safe to retry.
	IdempotencyKey string
	// Anonymous sends no service token (JWKS, the token endpoint itself).
	Anonymous bool
	// Timeout bounds the whole call, retries included.
	Timeout time.Duration
}

// Response is a completed call; the body is read in full.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Instance string
}

// UnavailableError means the service could not be reached: no healthy
// instance, an open breaker, or every attempt failed in transport.
type UnavailableError struct {
	Service    string
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("service %s unavailable: %v", e.Service, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// StatusError is a non-2xx answer to a JSON call.
type StatusError struct {
	Service string
	Status  int
	Body    []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("service %s answered %d: %s", e.Service, e.Status, truncate(e.Body, 300))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

var errServerError = errors.New("server error")

type ctxKey int

const (
	keyService ctxKey = iota
	keyRetryable
	keyTried
)

// Do performs req. A 5xx answer is returned as a Response (and counted
// against the breaker); err is non-nil only when no answer was had.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	inst, err := c.resolver.Pick(ctx, req.Service)
	if err != nil {
		c.calls.WithLabelValues(req.Service, "no_instance").Inc()
		return nil, &UnavailableError{Service: req.Service, RetryAfter: 5 * time.Second, Err: err}
	}
	tried := &[]string{inst.ID}
	retryable := req.IdempotencyKey != "" || idempotent(req.Method)
	ctx = context.WithValue(ctx, keyService, req.Service)
	ctx = context.WithValue(ctx, keyRetryable, retryable)
	ctx = context.WithValue(ctx, keyTried, tried)

	rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, "http://"+inst.Address+req.Path, bodyOrNil(req.Body))
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", req.Service, err)
	}
	if err := c.setHeaders(ctx, rreq.Request, req); err != nil {
		return nil, err
	}

	cb := c.breaker(req.Service)
	var answeredBy string
	resp, err := cb.Execute(func() (*http.Response, error) {
		resp, err := c.retry.Do(rreq)
		if err != nil {
			return nil, err
		}
		answeredBy = resp.Request.URL.Host
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
		if rerr != nil {
			return nil, fmt.Errorf("read response: %w", rerr)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if resp.StatusCode >= 500 {
			return resp, errServerError
		}
		return resp, nil
	})
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		c.calls.WithLabelValues(req.Service, "breaker_open").Inc()
		return nil, &UnavailableError{Service: req.Service, RetryAfter: c.opts.BreakerOpenFor, Err: err}
	case errors.Is(err, errServerError):
		c.calls.WithLabelValues(req.Service, "5xx").Inc()
	case err != nil:
		if ctx.Err() != nil {
			// The caller's deadline or cancellation, not the service's fault:
			// report it as such (a handler maps a deadline to 504).
			return nil, fmt.Errorf("call %s: %w", req.Service, ctx.Err())
		}
		c.calls.WithLabelValues(req.Service, "transport_error").Inc()
		return nil, &UnavailableError{Service: req.Service, RetryAfter: time.Second, Err: err}
	default:
		c.calls.WithLabelValues(req.Service, "ok").Inc()
	}
	body, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Instance: answeredBy}, nil
}

func bodyOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func (c *Client) setHeaders(ctx context.Context, r *http.Request, req Request) error {
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if len(req.Body) > 0 && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "application/json")
	}
	if id := logging.RequestID(ctx); id != "" && r.Header.Get(HeaderRequestID) == "" {
		r.Header.Set(HeaderRequestID, id)
	}
	if req.IdempotencyKey != "" {
		r.Header.Set(HeaderIdempotencyKey, req.IdempotencyKey)
	}
	if c.caller != "" {
		r.Header.Set(HeaderCaller, c.caller)
	}
	if id, ok := auth.FromContext(ctx); ok && !id.IsService() && id.UserID != 0 && r.Header.Get(HeaderOnBehalfOf) == "" {
		r.Header.Set(HeaderOnBehalfOf, strconv.FormatInt(id.UserID, 10))
	}
	if !req.Anonymous && c.tokens != nil && r.Header.Get("Authorization") == "" {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return fmt.Errorf("service token for call to %s: %w", req.Service, err)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// checkRetry retries transport errors and 502/503/504, and only for requests
// that are safe to repeat. A 500 is not retried: it is usually a bug that
// would fail again.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if ok, _ := ctx.Value(keyRetryable).(bool); !ok {
		return false, nil
	}
	if err != nil {
		return true, nil
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// jitterBackoff is exponential backoff with full jitter, so callers that
// failed together do not retry together.
func jitterBackoff(lo, hi time.Duration, attempt int, _ *http.Response) time.Duration {
	ceil := lo << min(attempt, 16)
	if ceil > hi || ceil <= 0 {
		ceil = hi
	}
	return lo + rand.N(ceil-lo+1)
}

// prepareRetry sends a retry to another instance when there is one.
func (c *Client) prepareRetry(r *http.Request) error {
	service, _ := r.Context().Value(keyService).(string)
	tried, _ := r.Context().Value(keyTried).(*[]string)
	if service == "" || tried == nil {
		return nil
	}
	inst, err := c.resolver.Pick(r.Context(), service, *tried...)
	if err != nil {
		return nil // keep the previous address; the attempt will tell
	}
	*tried = append(*tried, inst.ID)
	r.URL.Host = inst.Address
	r.Host = inst.Address
	return nil
}

func (c *Client) breaker(service string) *gobreaker.CircuitBreaker[*http.Response] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cb, ok := c.breakers[service]; ok {
		return cb
	}
	failures := c.opts.BreakerFailures
	cb := gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        service,
		MaxRequests: 1,
		Timeout:     c.opts.BreakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= failures },
		IsExcluded: func(err error) bool {
			return errors.Is(err, context.Canceled)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			c.breakerState.WithLabelValues(name).Set(float64(to))
			c.log.Warn("circuit breaker state changed", "target", name, "from", from.String(), "to", to.String())
		},
	})
	c.breakers[service] = cb
	return cb
}

// BreakerState reports a downstream's breaker state (for tests and health pages).
func (c *Client) BreakerState(service string) gobreaker.State {
	return c.breaker(service).State()
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
