package svcclient

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

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
	// HeaderClientIP is the end client's address, set by the gateway from
	// the connection (and its trusted proxies) and passed along every call
	// made for the request (lib/middleware reads it).
	HeaderClientIP = "X-Client-IP"
)

// attempt is one call's state across its attempts.
type attempt struct {
	service   string
	retryable bool
	tried     []string // instance IDs; the last is the current attempt's
	token     string   // the service token to send, if any
}

type attemptKey struct{}

// pick chooses the instance for the next attempt: one not tried yet and not
// ejected if there is one, else one not tried, else any.
func (c *Client) pick(ctx context.Context, st *attempt) (discovery.Instance, error) {
	now := time.Now()
	avoid := func(in discovery.Instance) bool {
		return slices.Contains(st.tried, in.ID) || c.outliers.ejected(st.service, in.ID, now)
	}
	inst, err := c.resolver.PickFunc(ctx, st.service, avoid)
	if err != nil {
		return inst, err
	}
	if avoid(inst) && len(st.tried) > 0 {
		// Every instance is tried or ejected: an ejected one beats repeating
		// the one that just failed.
		inst, _ = c.resolver.PickFunc(ctx, st.service, func(in discovery.Instance) bool { return slices.Contains(st.tried, in.ID) })
	}
	st.tried = append(st.tried, inst.ID)
	return inst, nil
}

// record takes one attempt's outcome for outlier ejection.
func (c *Client) record(ctx context.Context, st *attempt, id string, resp *http.Response, err error) {
	o := classify(ctx, resp, err)
	if o == excluded {
		return
	}
	n := 0
	if inst, ierr := c.resolver.Instances(ctx, st.service); ierr == nil {
		n = len(inst)
	}
	c.outliers.record(st.service, id, o, n, time.Now())
}

// checkRetry records each attempt's outcome, then retries transport errors
// and 502/503/504, and only for requests that are safe to repeat. A 500 is
// not retried: it is usually a bug that would fail again.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st, _ := ctx.Value(attemptKey{}).(*attempt)
	if st != nil && len(st.tried) > 0 {
		c.record(ctx, st, st.tried[len(st.tried)-1], resp, err)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if st == nil || !st.retryable {
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

// prepareRetry sends a retry to another instance when there is one.
func (c *Client) prepareRetry(r *http.Request) error {
	st, _ := r.Context().Value(attemptKey{}).(*attempt)
	if st == nil {
		return nil
	}
	inst, err := c.pick(r.Context(), st)
	if err != nil {
		// Keep the previous address; the attempt will tell.
		st.tried = append(st.tried, st.tried[len(st.tried)-1])
		return nil
	}
	r.URL.Host = inst.Address
	r.Host = inst.Address
	return nil
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

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Header values set on most calls, shared (never appended to) so setting
// them allocates nothing.
var (
	valueJSON = []string{"application/json"}
)

func (c *Client) setHeaders(ctx context.Context, r *http.Request, req Request, hasBody bool) {
	if req.Header != nil {
		r.Header = req.Header
	}
	h := r.Header
	if hasBody && len(h["Content-Type"]) == 0 {
		h["Content-Type"] = valueJSON
	}
	if len(h["Accept"]) == 0 {
		h["Accept"] = valueJSON
	}
	if len(h["X-Request-Id"]) == 0 {
		if id := logging.RequestID(ctx); id != "" {
			h["X-Request-Id"] = []string{id}
		}
	}
	if len(h["X-Client-Ip"]) == 0 {
		if ip := logging.ClientIP(ctx); ip != "" {
			h["X-Client-Ip"] = []string{ip}
		}
	}
	if req.IdempotencyKey != "" {
		h["Idempotency-Key"] = []string{req.IdempotencyKey}
	}
	if c.callerHdr != nil {
		h["X-Caller-Service"] = c.callerHdr
	}
	if id, ok := auth.FromContext(ctx); ok && !id.IsService() && id.UserID != 0 && len(h["X-On-Behalf-Of"]) == 0 {
		h["X-On-Behalf-Of"] = []string{strconv.FormatInt(id.UserID, 10)}
	}
	if st, _ := ctx.Value(attemptKey{}).(*attempt); st != nil && st.token != "" && len(h["Authorization"]) == 0 {
		h["Authorization"] = []string{"Bearer " + st.token}
	}
}

// token is the service token for req, if it needs one. It is obtained
// before the breaker is asked: failing to get one says nothing about the
// service called.
func (c *Client) token(ctx context.Context, req Request) (string, error) {
	if req.Anonymous || c.tokens == nil || req.Header.Get("Authorization") != "" {
		return "", nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("service token for call to %s: %w", req.Service, err)
	}
	return tok, nil
}
