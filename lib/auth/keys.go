// Package auth issues and verifies the platform's JWTs and carries the
// caller's identity through a request. Tokens are signed with Ed25519 (EdDSA)
// by the user service only; everyone else verifies them locally against the
// user service's JWKS, with the algorithm, issuer, audience and expiry pinned.
//
// A Verifier built with WithCache checks each token's signature once and
// remembers it (keyed by the whole token, never past its expiry); built
// with WithRevocations it also refuses tokens the user service revoked
// (logout, password change or reset, deactivation), which every verifier
// learns from Consul KV within a second or two. The revocation check runs on
// every call, cached or not: a map lookup. See revocations.go for the keys.
//
// A service wires it once:
//
//	rev := auth.NewRevocations(consulClient, auth.RevocationOptions{Logger: log})
//	go rev.Run(ctx)
//	v := auth.NewVerifier(auth.NewJWKSCache(fetchJWKS), auth.DefaultIssuer, auth.DefaultAudience,
//		auth.WithCache(auth.DefaultCacheSize), auth.WithRevocations(rev))
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrGenerateKey reads an Ed25519 private key (PKCS#8 PEM) from path. When
// the file does not exist and generate is set, it creates one (0600) so a dev
// platform keeps issuing verifiable tokens across restarts.
func LoadOrGenerateKey(path string, generate bool) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && generate {
		return generateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

func generateKey(path string) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("signing key dir: %w", err)
	}
	// O_EXCL: if two instances race on first start, one wins and the other
	// reads the winner's key instead of overwriting it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrGenerateKey(path, false)
	}
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return priv, nil
}

// JWK is one public key in a JWKS (RFC 8037 OKP key).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// KeyID is the RFC 7638 thumbprint of pub, so the kid changes with the key.
func KeyID(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PublicJWK describes pub for the JWKS.
func PublicJWK(pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: KeyID(pub), Alg: "EdDSA", Use: "sig"}
}

// ParseJWKS returns the Ed25519 keys of a JWKS document by kid; other key
// types are ignored.
func ParseJWKS(data []byte) (map[string]ed25519.PublicKey, error) {
	var set JWKS
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Kid == "" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue
		}
		out[k.Kid] = ed25519.PublicKey(x)
	}
	if len(out) == 0 {
		return nil, errors.New("parse jwks: no Ed25519 keys")
	}
	return out, nil
}
