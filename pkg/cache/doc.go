// Package cache is the one cache type of the tree: a bounded, expiring LRU
// (apimachinery's LRUExpireCache, on an injected clock) whose misses are
// computed once per key however many callers ask at the same time
// (singleflight). pkg/verify keeps successful verifications in it, pkg/bundle
// the bundles it read, pkg/oci the registries' answers to its pings.
package cache
