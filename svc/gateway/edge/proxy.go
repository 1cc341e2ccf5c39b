package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"hospital/lib/middleware"
	"hospital/lib/problem"
	"hospital/lib/svcclient"
)

// hopHeaders are meaningful for one connection only (RFC 9110 §7.6.1) and
// are never forwarded, in either direction.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// spoofable are headers only platform services may set; a client sending
// them is trying to pass for one.
var spoofable = []string{svcclient.HeaderOnBehalfOf, svcclient.HeaderCaller}

// removeHopHeaders deletes hop-by-hop headers, including those the
// Connection header names.
func removeHopHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// outgoingHeader is what the upstream sees: the client's headers, minus
// hop-by-hop and spoofable ones, plus X-Forwarded-* and the client's
// address in X-Client-IP (whatever the client sent there is replaced).
func outgoingHeader(r *http.Request, client netip.Addr, trusted []netip.Prefix) http.Header {
	h := r.Header.Clone()
	removeHopHeaders(h)
	for _, name := range spoofable {
		delete(h, name)
	}
	// The transfer is the gateway's own (streamed or buffered).
	delete(h, "Content-Length")
	delete(h, "Expect")

	peer := peerAddr(r)
	fromProxy := isTrusted(peer, trusted)
	if hops := forwardedFor(r); fromProxy && len(hops) > 0 {
		h["X-Forwarded-For"] = []string{strings.Join(hops, ", ") + ", " + peer.String()}
	} else {
		h["X-Forwarded-For"] = []string{peer.String()}
	}
	if !fromProxy || len(h["X-Forwarded-Proto"]) == 0 {
		if r.TLS != nil {
			h["X-Forwarded-Proto"] = valHTTPS
		} else {
			h["X-Forwarded-Proto"] = valHTTP
		}
	}
	if !fromProxy || len(h["X-Forwarded-Host"]) == 0 {
		h["X-Forwarded-Host"] = []string{r.Host}
	}
	if !fromProxy {
		delete(h, "Forwarded")
	}
	ip := []string{client.String()}
	h["X-Real-Ip"] = ip
	h["X-Client-Ip"] = ip // svcclient.HeaderClientIP, canonical
	return h
}

var (
	valHTTP  = []string{"http"}
	valHTTPS = []string{"https"}
)

// readBody reads the request body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *problem.Problem) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, bodyProblem(err, limit)
	}
	if len(body) == 0 {
		return nil, nil
	}
	return body, nil
}

func bodyProblem(err error, limit int64) *problem.Problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem.Newf(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes.", limit)
	}
	return problem.BadRequest("Could not read the request body.")
}

// forward sends the request to route's service and relays the answer as it
// comes. A request that may be retried (an idempotent method) has its body
// read first, so a retry can send it again; any other with a known length is
// streamed.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, route *Route, client netip.Addr) {
	limit := g.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		problem.Write(w, r, bodyProblem(&http.MaxBytesError{Limit: limit}, limit))
		return
	}
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	req := svcclient.Request{
		Service: route.Service,
		Method:  r.Method,
		Path:    path,
		Header:  outgoingHeader(r, client, g.trusted),
		// The client's own Authorization header goes through; the gateway
		// never lends its service identity to a client.
		Anonymous: true,
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		// Streamed only with a Content-Length within the limit: a chunked
		// body could outgrow it after the upstream has begun reading, and
		// the upstream must never act on a body cut short.
		if req.Retryable() || r.ContentLength < 0 {
			body, p := readBody(w, r, limit)
			if p != nil {
				problem.Write(w, r, p)
				return
			}
			req.Body = body
		} else {
			req.Stream, req.Length = http.MaxBytesReader(w, r.Body, limit), r.ContentLength
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), route.Timeout)
	defer cancel()
	resp, err := g.client.Send(ctx, req)
	if err != nil {
		g.upstreamError(w, r, route, ctx, err)
		return
	}
	defer resp.Body.Close()
	g.upstream.count(route.Service, resp.StatusCode)
	head := r.Method == http.MethodHead
	copyResponseHeader(w.Header(), resp.Header, head)
	w.WriteHeader(resp.StatusCode)
	if head {
		return
	}
	if _, err := io.Copy(w, resp.Body); err != nil && r.Context().Err() == nil {
		g.log.WarnContext(r.Context(), "answer cut short", "target", route.Service, "err", err.Error())
	}
}

func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, route *Route, ctx context.Context, err error) {
	var ue *svcclient.UnavailableError
	var be *svcclient.BodyError
	switch {
	case r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		g.upstream.countOutcome(route.Service, "canceled")
		w.WriteHeader(499)
	case errors.As(err, &be):
		g.upstream.countOutcome(route.Service, "bad_body")
		problem.Write(w, r, bodyProblem(be.Err, g.cfg.MaxBodyBytes))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		g.upstream.countOutcome(route.Service, "timeout")
		g.log.WarnContext(r.Context(), "upstream timed out", "target", route.Service, "timeout", route.Timeout.String())
		problem.Write(w, r, problem.New(http.StatusGatewayTimeout, "The service did not answer in time."))
	case errors.As(err, &ue):
		g.upstream.countOutcome(route.Service, "unavailable")
		g.log.WarnContext(r.Context(), "upstream unavailable", "target", route.Service, "reason", ue.Reason, "err", err.Error())
		problem.Write(w, r, problem.Unavailable("The service is unavailable; try again shortly.", max(ue.RetryAfter, time.Second)))
	default:
		g.upstream.countOutcome(route.Service, "error")
		g.log.ErrorContext(r.Context(), "forwarding failed", "target", route.Service, "err", err.Error())
		problem.Write(w, r, problem.New(http.StatusBadGateway, "The service could not be reached."))
	}
}

// copyResponseHeader relays the upstream's headers, except hop-by-hop ones,
// CORS and security headers (the gateway's policy, already set, including
// Cache-Control on authenticated answers) and the request ID (already set,
// the same value). A HEAD answer keeps its Content-Length.
func copyResponseHeader(dst, src http.Header, head bool) {
	connHeaders := src.Values("Connection")
	for k, vs := range src {
		switch {
		case isHopHeader(k, connHeaders), k == "X-Request-Id", strings.HasPrefix(k, "Access-Control-"):
		case middleware.IsSecurityHeader(k):
		case k == "Cache-Control" && len(dst["Cache-Control"]) > 0:
		case k == "Vary":
			// Keep the Vary: Origin the CORS layer may have set.
			dst[k] = append(dst[k], vs...)
		default:
			dst[k] = vs
		}
	}
}

// isHopHeader reports whether k is hop-by-hop, by RFC 9110 or because the
// Connection header names it.
func isHopHeader(k string, conn []string) bool {
	for _, h := range hopHeaders {
		if k == h {
			return true
		}
	}
	for _, v := range conn {
		for name := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(name)) == k {
				return true
			}
		}
	}
	return false
}
