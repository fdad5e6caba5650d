package cache

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/utils/clock"
)

// Cache holds at most size values of type V, each for ttl after it was
// stored, evicting the least recently used first. It is safe for concurrent
// use.
type Cache[V any] struct {
	lru   *utilcache.LRUExpireCache
	ttl   time.Duration
	group singleflight.Group

	hits, misses, shared atomic.Int64
}

// New returns a cache of at most size entries kept for ttl each, timed by
// clk (nil: the wall clock). size must be positive; ttl too.
func New[V any](size int, ttl time.Duration, clk clock.PassiveClock) *Cache[V] {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Cache[V]{lru: utilcache.NewLRUExpireCacheWithClock(size, clk), ttl: ttl}
}

// Stats counts lookups since the cache was made.
type Stats struct {
	// Hits were answered from the cache; Misses computed (or waited for a
	// computation); Shared waited for another caller's computation.
	Hits, Misses, Shared int64
	// Entries is how many unexpired values the cache holds.
	Entries int
}

// Stats returns the counters and the number of unexpired entries.
func (c *Cache[V]) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Shared: c.shared.Load(), Entries: len(c.lru.Keys())}
}

// Purge drops every entry.
func (c *Cache[V]) Purge() {
	c.lru.RemoveAll(func(any) bool { return true })
}

// Get returns the unexpired value of key.
func (c *Cache[V]) Get(key string) (V, bool) {
	v, ok := c.lru.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Add stores v under key for the cache's ttl.
func (c *Cache[V]) Add(key string, v V) {
	c.lru.Add(key, v, c.ttl)
}

// Do returns the value of key: from the cache, or computed by fn. Callers
// asking for the same key while it is computed share one computation. A
// value is stored only when fn returns no error and keep (nil: always)
// accepts it, so a failure or an answer that must be asked again next time
// is never served from the cache.
//
// A caller that shared a computation whose own caller gave up (its context
// was cancelled or timed out) while this caller's context is still live
// computes again itself: someone else's deadline is no answer.
func (c *Cache[V]) Do(ctx context.Context, key string, fn func(context.Context) (V, error), keep func(V) bool) (V, error) {
	if v, ok := c.Get(key); ok {
		c.hits.Add(1)
		return v, nil
	}
	c.misses.Add(1)
	compute := func() (V, error) {
		v, err := fn(ctx)
		if err == nil && (keep == nil || keep(v)) {
			c.Add(key, v)
		}
		return v, err
	}
	res, err, shared := c.group.Do(key, func() (any, error) {
		// A caller that missed just before the previous computation stored
		// its value must not compute again.
		if v, ok := c.Get(key); ok {
			return v, nil
		}
		return compute()
	})
	if shared {
		c.shared.Add(1)
		if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() == nil {
			return compute()
		}
	}
	v, _ := res.(V) // nil when fn's value was a nil interface
	return v, err
}
