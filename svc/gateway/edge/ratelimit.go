package edge

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter is a token bucket per client IP and path, for the paths that
// invite guessing (login, password reset). Buckets idle long enough to have
// refilled are dropped: a fresh bucket is the same thing.
type rateLimiter struct {
	paths map[string]bool
	limit rate.Limit
	burst int
	idle  time.Duration
	max   int // entries before an eviction pass is forced

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
}

type bucketKey struct {
	ip   netip.Addr
	path string
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newRateLimiter(paths []string, perMinute float64, burst int) *rateLimiter {
	if perMinute <= 0 || len(paths) == 0 {
		return nil
	}
	l := &rateLimiter{
		paths: map[string]bool{}, limit: rate.Limit(perMinute / 60), burst: burst,
		max: 100_000, buckets: map[bucketKey]*bucket{},
	}
	// Time to refill a whole bucket, and at least a minute.
	l.idle = max(time.Duration(float64(burst)/float64(l.limit)*float64(time.Second)), time.Minute)
	for _, p := range paths {
		l.paths[normPath(p)] = true
	}
	return l
}

// normPath makes "/a/b" and "/a/b/" the same limited path.
func normPath(p string) string { return strings.TrimSuffix(p, "/") }

// applies reports whether path is rate limited, and under which key.
func (l *rateLimiter) applies(path string) (string, bool) {
	if l == nil {
		return "", false
	}
	p := normPath(path)
	return p, l.paths[p]
}

// allow takes a token for ip on path; when none is left it reports how long
// until one will be.
func (l *rateLimiter) allow(ip netip.Addr, path string, now time.Time) (bool, time.Duration) {
	key := bucketKey{ip: clientKey(ip), path: path}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evictLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	l.mu.Unlock()

	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Minute
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// clientKey groups IPv6 clients by /64, the block one subscriber gets, so
// rotating through addresses does not buy fresh buckets.
func clientKey(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

func (l *rateLimiter) evictLocked(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.idle {
			delete(l.buckets, k)
		}
	}
}

func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// janitor evicts stale buckets until ctx ends.
func (l *rateLimiter) janitor(ctx context.Context) {
	t := time.NewTicker(l.idle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			l.mu.Lock()
			l.evictLocked(now)
			l.mu.Unlock()
		}
	}
}

// clientIP is the TCP peer, unless the peer is a trusted proxy: then the
// right-most address in X-Forwarded-For that is not itself a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r)
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a garbled hop: nothing left of it can be trusted
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor lists the X-Forwarded-For hops, left (client) to right.
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}
