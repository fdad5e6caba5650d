package verify

import (
	"context"
	"time"

	"k8s.io/utils/clock"

	"github.com/security-gate/security-gate/pkg/cache"
	"github.com/security-gate/security-gate/pkg/defaults"
)

// Cache remembers successful verifications, keyed by (digest, check,
// fingerprint of the authorities and rule), so a controller verifying the
// same images run after run does the cryptography and the registry reads
// once per TTL. It is the tree's one cache type (pkg/cache): bounded (least
// recently used entries are evicted), safe for concurrent use, and
// concurrent lookups of the same key share one verification. Failures and
// undecided results are never stored: a fixed signature or a registry back
// online is seen at once.
type Cache struct {
	*cache.Cache[outcome]
}

// NewCache returns a cache holding at most size entries for ttl each, on
// the wall clock (defaults.CacheSize and defaults.CacheTTL for values <= 0).
func NewCache(size int, ttl time.Duration) *Cache {
	return NewCacheWithClock(size, ttl, nil)
}

// NewCacheWithClock is NewCache timed by clk (nil: the wall clock).
func NewCacheWithClock(size int, ttl time.Duration, clk clock.PassiveClock) *Cache {
	if size <= 0 {
		size = defaults.CacheSize
	}
	if ttl <= 0 {
		ttl = defaults.CacheTTL
	}
	return &Cache{cache.New[outcome](size, ttl, clk)}
}

// DefaultCache is shared by every Verifier built without Options.Cache, so
// one process (the CLI, the controller) keeps what it verified across runs.
var DefaultCache = NewCache(defaults.CacheSize, defaults.CacheTTL)

// outcome is what one check produced. Only an outcome without findings is
// cacheable.
type outcome struct {
	findings []string
	value    any
}

// cacheable: an outcome with findings is a failure, judged again next time.
func cacheable(o outcome) bool { return len(o.findings) == 0 }

// do returns the cached outcome for key or computes it once, sharing the
// computation with concurrent callers of the same key.
func (c *Cache) do(ctx context.Context, key string, fn func(context.Context) (outcome, error)) (outcome, error) {
	return c.Do(ctx, key, fn, cacheable)
}
