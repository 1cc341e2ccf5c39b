package auth

import (
	"strings"
	"sync"
	"time"
)

// verifyCache remembers verified tokens by their whole text, so a token
// seen again skips the Ed25519 check (about 50 µs) for a map lookup. It
// keys on the whole token, never a part of it: the signature alone would
// match a forged payload carrying a copied signature.
//
// Sharded so that concurrent requests rarely meet on one lock; bounded so
// a flood of distinct (valid) tokens cannot grow it without limit.
type verifyCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 16

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]Identity
}

func newVerifyCache(size int) *verifyCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &verifyCache{perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]Identity)
	}
	return c
}

// shard picks by the token's last byte: part of the signature, so spread.
func (c *verifyCache) shard(raw string) *cacheShard {
	if raw == "" {
		return &c.shards[0]
	}
	return &c.shards[int(raw[len(raw)-1])%cacheShards]
}

// get returns the identity of a token verified before, if it has not
// expired by now.
func (c *verifyCache) get(raw string, now time.Time) (Identity, bool) {
	if c == nil {
		return Identity{}, false
	}
	s := c.shard(raw)
	s.mu.RLock()
	id, ok := s.m[raw]
	s.mu.RUnlock()
	if !ok || !now.Before(id.ExpiresAt) {
		return Identity{}, false
	}
	return id, true
}

// put remembers a verified token until it expires.
func (c *verifyCache) put(raw string, id Identity, now time.Time) {
	if c == nil || !now.Before(id.ExpiresAt) {
		return
	}
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		for k, v := range s.m {
			if !now.Before(v.ExpiresAt) {
				delete(s.m, k)
			}
		}
		// Still full of live tokens: drop a quarter, whichever the map
		// yields first (its order is random), rather than track recency on
		// every hit.
		for k := range s.m {
			if len(s.m) < c.perShard*3/4 {
				break
			}
			delete(s.m, k)
		}
	}
	// A copy, so the entry does not pin the request's header memory.
	s.m[strings.Clone(raw)] = id
}

// len is the number of entries (tests).
func (c *verifyCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
