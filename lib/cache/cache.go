// Package cache keeps other services' answers for a short time: a bounded
// LRU whose entries expire after a TTL, where concurrent misses of one key
// make one call and failures are never kept. A service uses it for what
// changes rarely and is asked often (a doctor's name, a care relationship),
// and documents how stale an answer may be.
package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// loadTimeout bounds one load shared by several callers.
const loadTimeout = 10 * time.Second

// TTL is a cache of at most size entries, each kept for ttl. A ttl of 0
// turns it off: every Get loads.
type TTL[K comparable, V any] struct {
	lru   *expirable.LRU[K, V]
	group singleflight.Group
}

// New returns a cache of size entries kept for ttl.
func New[K comparable, V any](size int, ttl time.Duration) *TTL[K, V] {
	c := &TTL[K, V]{}
	if ttl > 0 {
		c.lru = expirable.NewLRU[K, V](size, nil, ttl)
	}
	return c
}

// Get returns the value for k, calling load on a miss. A load error is
// returned and not kept.
func (c *TTL[K, V]) Get(ctx context.Context, k K, load func(ctx context.Context) (V, error)) (V, error) {
	if c.lru == nil {
		return load(ctx)
	}
	if v, ok := c.lru.Get(k); ok {
		return v, nil
	}
	out, err, _ := c.group.Do(fmt.Sprint(k), func() (any, error) {
		// A load that finished between our miss and this call has left
		// its value: no second load for it.
		if v, ok := c.lru.Get(k); ok {
			return v, nil
		}
		// The callers waiting on this load must not fail because the
		// first of them gave up.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		v, err := load(lctx)
		if err == nil {
			c.lru.Add(k, v)
		}
		return v, err
	})
	v, _ := out.(V)
	return v, err
}

// Forget drops k (an answer known to have changed).
func (c *TTL[K, V]) Forget(k K) {
	if c.lru != nil {
		c.lru.Remove(k)
	}
}
