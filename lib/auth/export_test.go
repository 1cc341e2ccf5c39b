package auth

import "time"

// SetJWKSMinInterval lets tests skip the refetch rate limit.
func SetJWKSMinInterval(c *JWKSCache, d time.Duration) {
	c.mu.Lock()
	c.minInterval = d
	c.mu.Unlock()
}

// CacheLen is the number of tokens v's cache holds.
func CacheLen(v *Verifier) int { return v.cache.len() }
