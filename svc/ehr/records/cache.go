package records

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// cache reuses answers of another service for at most ttl: concurrent
// misses of one key make one call, and failures are not kept. A ttl of 0
// turns it off.
type cache[K comparable, V any] struct {
	lru   *expirable.LRU[K, V]
	group singleflight.Group
	ttl   time.Duration
}

func newCache[K comparable, V any](size int, ttl time.Duration) *cache[K, V] {
	c := &cache[K, V]{ttl: ttl}
	if ttl > 0 {
		c.lru = expirable.NewLRU[K, V](size, nil, ttl)
	}
	return c
}

// get returns the answer for k, calling load on a miss.
func (c *cache[K, V]) get(ctx context.Context, k K, load func(ctx context.Context) (V, error)) (V, error) {
	if c.lru == nil {
		return load(ctx)
	}
	if v, ok := c.lru.Get(k); ok {
		return v, nil
	}
	out, err, _ := c.group.Do(fmt.Sprint(k), func() (any, error) {
		// The callers that wait on this call must not fail because the
		// first of them gave up.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
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

// forget drops k (an answer known to have changed).
func (c *cache[K, V]) forget(k K) {
	if c.lru != nil {
		c.lru.Remove(k)
	}
}
