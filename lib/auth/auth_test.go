package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hospital/lib/auth"
)

func newSigner(t testing.TB) (*auth.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewSigner(priv, auth.DefaultIssuer, auth.DefaultAudience), priv
}

func verifier(s *auth.Signer) *auth.Verifier {
	return auth.NewVerifier(s.Keys(), auth.DefaultIssuer, auth.DefaultAudience)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	s, _ := newSigner(t)
	tok, err := s.Sign(auth.Identity{UserID: 42, Role: auth.RoleDoctor, Username: "dr"}, time.Minute, "j1")
	if err != nil {
		t.Fatal(err)
	}
	id, err := verifier(s).Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != 42 || id.Role != auth.RoleDoctor || id.Username != "dr" || id.TokenID != "j1" {
		t.Fatalf("identity = %+v", id)
	}
	// iat carries milliseconds, so a revocation can tell tokens of the same second apart.
	before := time.Now().Truncate(time.Millisecond)
	tok, _ = s.Sign(auth.Identity{UserID: 42, Role: auth.RoleDoctor, SessionID: "sid-1"}, time.Minute, "j3")
	id, err = verifier(s).Verify(context.Background(), tok)
	if err != nil || id.SessionID != "sid-1" || id.IssuedAt.Before(before) || time.Since(id.IssuedAt) > time.Second ||
		id.ExpiresAt.Sub(id.IssuedAt) < 59*time.Second {
		t.Fatalf("identity = %+v, %v", id, err)
	}
	svc, _ := s.Sign(auth.Identity{Role: auth.RoleService, Service: "billing"}, time.Minute, "j2")
	id, err = verifier(s).Verify(context.Background(), svc)
	if err != nil || !id.IsService() || id.Service != "billing" {
		t.Fatalf("service identity = %+v, %v", id, err)
	}
}

// forge builds a token by hand so the tests control every header and claim.
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience, "sub": "7", "role": auth.RoleAdmin,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
}

func TestVerifyRejects(t *testing.T) {
	s, priv := newSigner(t)
	pub := priv.Public().(ed25519.PublicKey)
	kid := auth.KeyID(pub)
	v := verifier(s)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)

	good := forge(t, jwt.SigningMethodEdDSA, priv, kid, validClaims())
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	with := func(k string, val any) jwt.MapClaims {
		c := validClaims()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims())
		tok.Header["kid"] = kid
		str, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}()
	// HS256 keyed with the public key bytes: the classic algorithm confusion.
	hsWithPublic := forge(t, jwt.SigningMethodHS256, []byte(pub), kid, validClaims())
	tampered := func() string {
		parts := strings.Split(good, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		m["role"] = auth.RoleAdmin
		m["sub"] = "1"
		b, _ := json.Marshal(m)
		parts[1] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	}()

	cases := map[string]string{
		"alg none":              none,
		"HS256 with public key": hsWithPublic,
		"expired":               forge(t, jwt.SigningMethodEdDSA, priv, kid, with("exp", time.Now().Add(-time.Hour).Unix())),
		"no expiry":             forge(t, jwt.SigningMethodEdDSA, priv, kid, with("exp", nil)),
		"wrong issuer":          forge(t, jwt.SigningMethodEdDSA, priv, kid, with("iss", "someone-else")),
		"wrong audience":        forge(t, jwt.SigningMethodEdDSA, priv, kid, with("aud", "other-app")),
		"not yet valid":         forge(t, jwt.SigningMethodEdDSA, priv, kid, with("nbf", time.Now().Add(time.Hour).Unix())),
		"tampered payload":      tampered,
		"signed by another key": forge(t, jwt.SigningMethodEdDSA, otherPriv, kid, validClaims()),
		"unknown kid":           forge(t, jwt.SigningMethodEdDSA, priv, "nope", validClaims()),
		"no kid":                forge(t, jwt.SigningMethodEdDSA, priv, "", validClaims()),
		"no role":               forge(t, jwt.SigningMethodEdDSA, priv, kid, with("role", nil)),
		"non-numeric subject":   forge(t, jwt.SigningMethodEdDSA, priv, kid, with("sub", "admin")),
		"service without svc":   forge(t, jwt.SigningMethodEdDSA, priv, kid, with("role", auth.RoleService)),
		"no iat":                forge(t, jwt.SigningMethodEdDSA, priv, kid, with("iat", nil)),
		"iat in the future":     forge(t, jwt.SigningMethodEdDSA, priv, kid, with("iat", time.Now().Add(time.Hour).Unix())),
		"iat not a number":      forge(t, jwt.SigningMethodEdDSA, priv, kid, with("iat", "yesterday")),
		"garbage":               "not.a.token",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tok)
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

func TestJWKSCacheRefetchesOnUnknownKid(t *testing.T) {
	s1, _ := newSigner(t)
	s2, _ := newSigner(t)
	var current atomic.Pointer[auth.Signer]
	current.Store(s1)
	var fetches atomic.Int32
	cache := auth.NewJWKSCache(func(context.Context) ([]byte, error) {
		fetches.Add(1)
		return json.Marshal(current.Load().JWKS())
	})
	v := auth.NewVerifier(cache, auth.DefaultIssuer, auth.DefaultAudience)
	tok1, _ := s1.Sign(auth.Identity{UserID: 1, Role: auth.RolePatient}, time.Minute, "a")
	for range 3 {
		if _, err := v.Verify(context.Background(), tok1); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetched %d times for one key, want 1", n)
	}
	// The user service rotates its key; tokens with the new kid are verified
	// after one refetch (allowed once the minimum interval has passed).
	current.Store(s2)
	tok2, _ := s2.Sign(auth.Identity{UserID: 1, Role: auth.RolePatient}, time.Minute, "b")
	if _, err := v.Verify(context.Background(), tok2); err == nil {
		t.Fatal("new kid accepted within the refetch interval: refetch was not rate-limited")
	}
	auth.SetJWKSMinInterval(cache, 0)
	if _, err := v.Verify(context.Background(), tok2); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
}

func TestLoadOrGenerateKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "jwt.pem")
	if _, err := auth.LoadOrGenerateKey(path, false); err == nil {
		t.Fatal("missing key without generate should fail")
	}
	k1, err := auth.LoadOrGenerateKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := auth.LoadOrGenerateKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("second start generated a new key instead of reusing the stored one")
	}
}
