package middleware

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestSetSecurityHeaders(t *testing.T) {
	h := http.Header{}
	SetSecurityHeaders(h, false, false)
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Content-Security-Policy": "frame-ancestors 'none'", "Referrer-Policy": "no-referrer",
		"Strict-Transport-Security": "", "Cache-Control": "",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("plain answer: %s = %q, want %q", name, got, want)
		}
	}
	h = http.Header{}
	SetSecurityHeaders(h, true, true)
	if h.Get("Strict-Transport-Security") == "" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("TLS, authenticated answer: %v", h)
	}
	// Shared values are never changed by a later Add on one answer.
	h.Add("Cache-Control", "private")
	other := http.Header{}
	SetSecurityHeaders(other, false, true)
	if got := other.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("a shared header value was changed in place: %q", got)
	}
}

func TestOverTLSAndClientKey(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.1.1:5000"
	if OverTLS(r, trusted) {
		t.Error("plain HTTP from a proxy that says nothing is not TLS")
	}
	r.Header.Set("X-Forwarded-Proto", "https")
	if !OverTLS(r, trusted) {
		t.Error("a trusted proxy's X-Forwarded-Proto: https not believed")
	}
	r.RemoteAddr = "203.0.113.9:5000"
	if OverTLS(r, trusted) {
		t.Error("an untrusted client's X-Forwarded-Proto believed")
	}
	r.TLS = &tls.ConnectionState{}
	if !OverTLS(r, nil) {
		t.Error("a TLS connection is TLS")
	}
	for in, want := range map[string]string{
		"203.0.113.9":          "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"garbage":              "garbage",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
