package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// randomToken returns 256 random bits, URL-safe: refresh and reset tokens.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// randomID returns 128 random bits in hex: token IDs and session ids.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// tokenHash is how opaque tokens are stored: they are random and long, so a
// plain SHA-256 cannot be reversed, and the lookup stays an index hit.
func tokenHash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// ServiceClients are the services allowed to obtain service tokens, with
// their secrets.
type ServiceClients map[string]string

// ParseServiceClients reads "name=secret,name2=secret2". Secrets may contain
// "=" (base64); names and secrets are trimmed.
func ParseServiceClients(s string) (ServiceClients, error) {
	out := ServiceClients{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, secret, ok := strings.Cut(item, "=")
		name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
		if !ok || name == "" || secret == "" {
			return nil, fmt.Errorf("SERVICE_CLIENTS: entry %q is not name=secret", name)
		}
		out[name] = secret
	}
	return out, nil
}

// check compares in constant time; an unknown service is compared against a
// dummy so the answer time does not tell which names exist.
func (c ServiceClients) check(service, secret string) bool {
	want, known := c[service]
	if !known {
		want = "no such service client secret, compared only for timing"
	}
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && known
}
