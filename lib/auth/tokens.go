package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles, as the spec names them, plus SERVICE for service-to-service calls.
const (
	RolePatient           = "PATIENT"
	RoleDoctor            = "DOCTOR"
	RoleNurse             = "NURSE"
	RoleAdmin             = "ADMIN"
	RolePharmacist        = "PHARMACIST"
	RoleInsuranceProvider = "INSURANCE_PROVIDER"
	RoleLabTechnician     = "LAB_TECHNICIAN"
	RoleService           = "SERVICE"
)

// Defaults for the issuer and audience every token carries.
const (
	DefaultIssuer   = "hospital-user-service"
	DefaultAudience = "hospital-platform"
)

// Claims are the platform's access-token claims.
type Claims struct {
	jwt.RegisteredClaims
	// IssuedAt is "iat" read with its fraction: tokens carry milliseconds so
	// that a revocation at time T refuses exactly the tokens issued before
	// it (jwt's NumericDate keeps whole seconds only). It shadows
	// RegisteredClaims.IssuedAt, which stays nil; Verify checks it itself.
	IssuedAt json.Number `json:"iat,omitempty"`
	Role     string      `json:"role"`
	Username string      `json:"username,omitempty"`
	// Service names the calling service on service tokens.
	Service string `json:"svc,omitempty"`
	// SessionID ("sid") names the sign-in a user's token belongs to, so
	// that one session can be revoked (logout) and not the others.
	SessionID string `json:"sid,omitempty"`
}

// issuedAt is the "iat" claim as a time (zero when absent or malformed).
func (c *Claims) issuedAt() time.Time {
	f, err := c.IssuedAt.Float64()
	if err != nil || f <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(f * 1000)))
}

// numericMillis writes t as a NumericDate with milliseconds.
func numericMillis(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

// Signer issues access tokens. Only the user service holds one.
type Signer struct {
	key      ed25519.PrivateKey
	kid      string
	issuer   string
	audience string
	now      func() time.Time
}

// NewSigner returns a signer for key.
func NewSigner(key ed25519.PrivateKey, issuer, audience string) *Signer {
	return &Signer{key: key, kid: KeyID(key.Public().(ed25519.PublicKey)), issuer: issuer, audience: audience, now: time.Now}
}

// Sign issues a token for id valid for ttl; jti makes every token distinct.
func (s *Signer) Sign(id Identity, ttl time.Duration, jti string) (string, error) {
	now := s.now()
	subject := id.Service
	if id.UserID != 0 {
		subject = strconv.FormatInt(id.UserID, 10)
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.issuer, Subject: subject, Audience: jwt.ClaimStrings{s.audience},
			NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: jti,
		},
		IssuedAt: numericMillis(now),
		Role:     id.Role, Username: id.Username, Service: id.Service, SessionID: id.SessionID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

// JWKS is the public key set to publish.
func (s *Signer) JWKS() JWKS {
	return JWKS{Keys: []JWK{PublicJWK(s.key.Public().(ed25519.PublicKey))}}
}

// Keys returns the signer's own public key as a KeySource, for the service
// that signs to verify without fetching its own JWKS.
func (s *Signer) Keys() KeySource {
	pub := s.key.Public().(ed25519.PublicKey)
	return staticKeys{s.kid: pub}
}

// KeySource resolves a key ID to a public key.
type KeySource interface {
	Key(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

type staticKeys map[string]ed25519.PublicKey

func (s staticKeys) Key(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// StaticKeys is a KeySource over fixed keys.
func StaticKeys(keys map[string]ed25519.PublicKey) KeySource { return staticKeys(keys) }

var (
	// ErrUnknownKey means no key with the token's kid exists.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrInvalidToken wraps every reason a token is refused.
	ErrInvalidToken = errors.New("invalid token")
	// ErrKeysUnavailable means the verification keys could not be loaded:
	// the token may be fine, the verifier cannot tell right now.
	ErrKeysUnavailable = errors.New("signing keys unavailable")
)

// ErrRevoked wraps ErrInvalidToken for a token that was valid until the
// user service revoked it (logout, password change, deactivation).
var ErrRevoked = fmt.Errorf("%w: revoked", ErrInvalidToken)

// Verifier checks tokens: EdDSA only, known kid, issuer, audience, expiry,
// and, when it follows the revocations, that the token was not revoked.
type Verifier struct {
	keys        KeySource
	parser      *jwt.Parser
	now         func() time.Time
	cache       *verifyCache
	revocations *Revocations
}

// leeway is the clock skew tolerated on exp, nbf and iat.
const leeway = 30 * time.Second

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithCache keeps up to size verified tokens, keyed by the whole token, so
// a token seen before costs a map lookup instead of a signature check. An
// entry is never used past the token's expiry; revocations are checked on
// every call, cached or not. size <= 0 means DefaultCacheSize.
func WithCache(size int) VerifierOption {
	return func(v *Verifier) { v.cache = newVerifyCache(size) }
}

// DefaultCacheSize holds the tokens of a busy gateway's last minutes
// (about 1 KiB each).
const DefaultCacheSize = 10000

// WithRevocations refuses tokens r says were revoked, and answers
// ErrRevocationsUnavailable until r has heard from Consul once.
func WithRevocations(r *Revocations) VerifierOption {
	return func(v *Verifier) { v.revocations = r }
}

// WithClock sets the verifier's clock (tests).
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) { v.now = now }
}

// NewVerifier returns a verifier for tokens from issuer to audience.
func NewVerifier(keys KeySource, issuer, audience string, opts ...VerifierOption) *Verifier {
	v := &Verifier{keys: keys, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(v.now),
	)
	return v
}

// Verify checks raw and returns the caller's identity. Errors wrap
// ErrInvalidToken (the caller's fault: 401), or ErrKeysUnavailable or
// ErrRevocationsUnavailable (the verifier cannot tell right now: 503).
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	now := v.now()
	id, ok := v.cache.get(raw, now)
	if !ok {
		var err error
		if id, err = v.parse(ctx, raw, now); err != nil {
			return Identity{}, err
		}
		v.cache.put(raw, id, now)
	}
	if v.revocations != nil {
		if err := v.revocations.Check(id); err != nil {
			return Identity{}, err
		}
	}
	return id, nil
}

func (v *Verifier) parse(ctx context.Context, raw string, now time.Time) (Identity, error) {
	var c Claims
	_, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		return v.keys.Key(ctx, kid)
	})
	if errors.Is(err, ErrKeysUnavailable) {
		return Identity{}, fmt.Errorf("verify token: %w", err)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	iat := c.issuedAt()
	switch {
	case iat.IsZero():
		return Identity{}, fmt.Errorf("%w: no iat", ErrInvalidToken)
	case iat.After(now.Add(leeway)):
		return Identity{}, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	case c.Role == "":
		return Identity{}, fmt.Errorf("%w: no role", ErrInvalidToken)
	}
	id := Identity{
		Role: c.Role, Username: c.Username, Service: c.Service, TokenID: c.ID,
		SessionID: c.SessionID, IssuedAt: iat, ExpiresAt: c.ExpiresAt.Time,
	}
	if c.Role == RoleService {
		if c.Service == "" {
			return Identity{}, fmt.Errorf("%w: service token without service name", ErrInvalidToken)
		}
		return id, nil
	}
	uid, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || uid <= 0 {
		return Identity{}, fmt.Errorf("%w: bad subject", ErrInvalidToken)
	}
	id.UserID = uid
	return id, nil
}

// SignerTokens is the token source of the one service that holds the signing
// key (the user service): it signs its own service token instead of asking
// itself over HTTP.
type SignerTokens struct {
	signer  *Signer
	service string
	ttl     time.Duration

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewSignerTokens returns a TokenSource issuing SERVICE tokens for service.
func NewSignerTokens(s *Signer, service string, ttl time.Duration) *SignerTokens {
	return &SignerTokens{signer: s, service: service, ttl: ttl}
}

// Token returns a cached token, renewed when three quarters of its life is used.
func (t *SignerTokens) Token(context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Now().Before(t.renewAt) {
		return t.token, nil
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok, err := t.signer.Sign(Identity{Role: RoleService, Service: t.service}, t.ttl, hex.EncodeToString(b[:]))
	if err != nil {
		return "", err
	}
	t.token, t.renewAt = tok, time.Now().Add(t.ttl*3/4)
	return tok, nil
}
