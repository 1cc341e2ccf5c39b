package auth

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"
)

// JWKSCache is a KeySource backed by the user service's JWKS. It refetches
// when it meets an unknown kid (key rotation), at most once per minInterval so
// a flood of forged kids cannot hammer the user service, and every maxAge.
type JWKSCache struct {
	fetch       func(ctx context.Context) ([]byte, error)
	minInterval time.Duration
	maxAge      time.Duration

	mu      sync.Mutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time
}

// NewJWKSCache returns a cache filled by fetch.
func NewJWKSCache(fetch func(ctx context.Context) ([]byte, error)) *JWKSCache {
	return &JWKSCache{fetch: fetch, minInterval: 5 * time.Second, maxAge: 10 * time.Minute}
}

// Key returns the key for kid, fetching the JWKS if needed.
func (c *JWKSCache) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[kid]; ok && time.Since(c.fetched) < c.maxAge {
		return k, nil
	}
	if !c.fetched.IsZero() && time.Since(c.fetched) < c.minInterval {
		if k, ok := c.keys[kid]; ok {
			return k, nil
		}
		return nil, ErrUnknownKey
	}
	data, err := c.fetch(ctx)
	if err != nil {
		if k, ok := c.keys[kid]; ok {
			return k, nil // stale beats unavailable for a key we already trust
		}
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	c.keys, c.fetched = keys, time.Now()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}
