package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

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
// hop-by-hop and spoofable ones, plus X-Forwarded-*.
func outgoingHeader(r *http.Request, client netip.Addr, trusted []netip.Prefix) http.Header {
	h := r.Header.Clone()
	removeHopHeaders(h)
	for _, name := range spoofable {
		h.Del(name)
	}
	// The body is read in full before forwarding; these described the
	// client's own transfer.
	h.Del("Content-Length")
	h.Del("Expect")

	peer := peerAddr(r)
	fromProxy := isTrusted(peer, trusted)
	if fromProxy && len(forwardedFor(r)) > 0 {
		h.Set("X-Forwarded-For", strings.Join(forwardedFor(r), ", ")+", "+peer.String())
	} else {
		h.Set("X-Forwarded-For", peer.String())
	}
	if !fromProxy || h.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		h.Set("X-Forwarded-Proto", proto)
	}
	if !fromProxy || h.Get("X-Forwarded-Host") == "" {
		h.Set("X-Forwarded-Host", r.Host)
	}
	if !fromProxy {
		h.Del("Forwarded")
	}
	h.Set("X-Real-Ip", client.String())
	return h
}

// readBody reads the request body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *problem.Problem) {
	tooLarge := problem.Newf(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes.", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, problem.BadRequest("Could not read the request body.")
	}
	if len(body) == 0 {
		return nil, nil
	}
	return body, nil
}

// forward sends the request to route's service and relays the answer as is.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, route *Route, client netip.Addr) {
	body, p := readBody(w, r, g.cfg.MaxBodyBytes)
	if p != nil {
		problem.Write(w, r, p)
		return
	}
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	ctx, cancel := context.WithTimeout(r.Context(), route.Timeout)
	defer cancel()
	resp, err := g.client.Do(ctx, svcclient.Request{
		Service: route.Service,
		Method:  r.Method,
		Path:    path,
		Body:    body,
		Header:  outgoingHeader(r, client, g.trusted),
		// The client's own Authorization header goes through; the gateway
		// never lends its service identity to a client.
		Anonymous: true,
	})
	if err != nil {
		g.upstreamError(w, r, route, ctx, err)
		return
	}
	g.upstreamCalls.WithLabelValues(route.Service, strconv.Itoa(resp.Status)).Inc()
	copyResponseHeader(w.Header(), resp.Header, r.Method == http.MethodHead)
	if r.Method != http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
}

func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, route *Route, ctx context.Context, err error) {
	var ue *svcclient.UnavailableError
	switch {
	case r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		g.upstreamCalls.WithLabelValues(route.Service, "canceled").Inc()
		w.WriteHeader(499)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		g.upstreamCalls.WithLabelValues(route.Service, "timeout").Inc()
		g.log.WarnContext(r.Context(), "upstream timed out", "target", route.Service, "timeout", route.Timeout.String())
		problem.Write(w, r, problem.New(http.StatusGatewayTimeout, "The service did not answer in time."))
	case errors.As(err, &ue):
		g.upstreamCalls.WithLabelValues(route.Service, "unavailable").Inc()
		g.log.WarnContext(r.Context(), "upstream unavailable", "target", route.Service, "err", err.Error())
		problem.Write(w, r, problem.Unavailable("The service is unavailable; try again shortly.", max(ue.RetryAfter, time.Second)))
	default:
		g.upstreamCalls.WithLabelValues(route.Service, "error").Inc()
		g.log.ErrorContext(r.Context(), "forwarding failed", "target", route.Service, "err", err.Error())
		problem.Write(w, r, problem.New(http.StatusBadGateway, "The service could not be reached."))
	}
}

// copyResponseHeader relays the upstream's headers, except hop-by-hop ones,
// the length (recomputed), CORS (the gateway's concern) and the request ID
// (already set, the same value).
func copyResponseHeader(dst, src http.Header, head bool) {
	src = src.Clone()
	removeHopHeaders(src)
	if !head {
		src.Del("Content-Length")
	}
	src.Del("X-Request-Id")
	for k, vs := range src {
		switch {
		case strings.HasPrefix(k, "Access-Control-"):
			continue
		case k == "Vary":
			// Keep the Vary: Origin the CORS layer may have set.
			for _, v := range vs {
				dst.Add(k, v)
			}
		default:
			dst[k] = vs
		}
	}
}
