package middleware

import (
	"net/http"
	"net/netip"
)

// Header values shared by every answer. They are never appended to in
// place (a slice at full capacity is copied on append), so setting them
// allocates nothing.
var (
	valNoSniff     = []string{"nosniff"}
	valDeny        = []string{"DENY"}
	valNoFrames    = []string{"frame-ancestors 'none'"}
	valNoReferrer  = []string{"no-referrer"}
	valHSTS        = []string{"max-age=63072000; includeSubDomains"}
	valNoStore     = []string{"no-store"}
	securityHeader = []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy", "Strict-Transport-Security"}
)

// SetSecurityHeaders puts the headers every answer carries on h: no MIME
// sniffing, no framing (X-Frame-Options and CSP frame-ancestors), no
// Referer leaking API URLs; HSTS when the request came over TLS; and
// Cache-Control: no-store when the request carried credentials, so no
// shared or browser cache keeps a user's data.
func SetSecurityHeaders(h http.Header, overTLS, authenticated bool) {
	h["X-Content-Type-Options"] = valNoSniff
	h["X-Frame-Options"] = valDeny
	h["Content-Security-Policy"] = valNoFrames
	h["Referrer-Policy"] = valNoReferrer
	if overTLS {
		h["Strict-Transport-Security"] = valHSTS
	}
	if authenticated {
		h["Cache-Control"] = valNoStore
	}
}

// IsSecurityHeader reports whether name (canonical) is one SetSecurityHeaders
// decides; a proxy does not let an upstream's answer override it.
func IsSecurityHeader(name string) bool {
	for _, h := range securityHeader {
		if h == name {
			return true
		}
	}
	return false
}

// OverTLS reports whether r reached us over TLS: directly, or through a
// trusted proxy (its peer address in trusted) that says so in
// X-Forwarded-Proto.
func OverTLS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	if len(trusted) == 0 || r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	peer := PeerAddr(r)
	for _, p := range trusted {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// PeerAddr is the TCP peer's address (IPv4-mapped addresses unmapped).
func PeerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// ClientKey is the address a per-client limit counts under: an IPv4 address
// as it is, an IPv6 address by its /64 (the block one subscriber gets), so
// rotating through one's own addresses buys no fresh budget. s is an
// address as X-Client-IP carries it; anything else is returned unchanged.
func ClientKey(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	return ClientPrefix(a).String()
}

// ClientPrefix is ClientKey for a parsed address.
func ClientPrefix(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
