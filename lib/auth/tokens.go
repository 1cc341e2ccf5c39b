package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	Role     string `json:"role"`
	Username string `json:"username,omitempty"`
	// Service names the calling service on service tokens.
	Service string `json:"svc,omitempty"`
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
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: jti,
		},
		Role: id.Role, Username: id.Username, Service: id.Service,
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

// Verifier checks tokens: EdDSA only, known kid, issuer, audience, expiry.
type Verifier struct {
	keys   KeySource
	parser *jwt.Parser
}

// NewVerifier returns a verifier for tokens from issuer to audience.
func NewVerifier(keys KeySource, issuer, audience string) *Verifier {
	return &Verifier{keys: keys, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
	)}
}

// Verify parses and checks raw, returning the caller's identity.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
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
	id := Identity{Role: c.Role, Username: c.Username, Service: c.Service, TokenID: c.ID}
	if c.Role == "" {
		return Identity{}, fmt.Errorf("%w: no role", ErrInvalidToken)
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
