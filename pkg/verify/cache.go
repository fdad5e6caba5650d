package verify

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache remembers successful verifications, keyed by (digest, check,
// fingerprint of the authorities and rule), so a controller verifying the
// same images run after run does the cryptography and the registry reads
// once per TTL. It is bounded (least recently used entries are evicted) and
// safe for concurrent use. Concurrent lookups of the same key share one
// verification (singleflight). Failures and undecided results are never
// stored: a fixed signature or a registry back online is seen at once.
type Cache struct {
	ttl   time.Duration
	max   int
	now   func() time.Time
	group singleflight.Group

	mu    sync.Mutex
	ll    *list.List
	items map[string]*list.Element

	hits, misses, shared atomic.Int64
}

type cacheEntry struct {
	key     string
	value   any
	expires time.Time
}

// Default cache bounds.
const (
	DefaultCacheSize = 4096
	DefaultCacheTTL  = 10 * time.Minute
)

// NewCache returns a cache holding at most size entries for ttl each
// (defaults for values <= 0).
func NewCache(size int, ttl time.Duration) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &Cache{ttl: ttl, max: size, now: time.Now, ll: list.New(), items: map[string]*list.Element{}}
}

// DefaultCache is shared by every Verifier built without Options.Cache, so
// one process (the CLI, the controller) keeps what it verified across runs.
var DefaultCache = NewCache(DefaultCacheSize, DefaultCacheTTL)

// CacheStats counts lookups.
type CacheStats struct {
	Hits, Misses, Shared int64
	Entries              int
}

// Stats returns counters since the cache was created.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n := c.ll.Len()
	c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Shared: c.shared.Load(), Entries: n}
}

// Purge drops every entry.
func (c *Cache) Purge() {
	c.mu.Lock()
	c.ll.Init()
	c.items = map[string]*list.Element{}
	c.mu.Unlock()
}

func (c *Cache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e.value, true
}

func (c *Cache) put(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.value, e.expires = v, c.now().Add(c.ttl)
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, value: v, expires: c.now().Add(c.ttl)})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// outcome is what one check produced. Only an outcome without findings is
// cacheable.
type outcome struct {
	findings []string
	value    any
}

// do returns the cached outcome for key or computes it once, sharing the
// computation with concurrent callers of the same key.
func (c *Cache) do(ctx context.Context, key string, fn func(context.Context) (outcome, error)) (outcome, error) {
	if v, ok := c.get(key); ok {
		c.hits.Add(1)
		return outcome{value: v}, nil
	}
	c.misses.Add(1)
	v, err, shared := c.group.Do(key, func() (any, error) {
		// A caller that missed just before the previous flight stored its
		// result must not verify again.
		if v, ok := c.get(key); ok {
			return outcome{value: v}, nil
		}
		o, err := fn(ctx)
		if err == nil && len(o.findings) == 0 {
			c.put(key, o.value)
		}
		return o, err
	})
	if shared {
		c.shared.Add(1)
		// The leader's caller may have given up; that is no answer for a
		// caller that is still waiting.
		if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() == nil {
			o, err := fn(ctx)
			if err == nil && len(o.findings) == 0 {
				c.put(key, o.value)
			}
			return o, err
		}
	}
	if err != nil {
		return outcome{}, err
	}
	return v.(outcome), nil
}
