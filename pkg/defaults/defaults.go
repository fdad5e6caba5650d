package defaults

import "time"

const (
	// CacheSize is how many successful verifications the process-wide
	// verification cache keeps (least recently used go first). An entry of
	// an attestation rule holds every verified attestation of a digest, so
	// the bound is also what keeps a controller's memory in check.
	CacheSize = 1024
	// CacheTTL is how long a successful verification is reused.
	CacheTTL = 10 * time.Minute

	// Concurrency is how many registry verifications one run makes in
	// parallel.
	Concurrency = 8

	// RegistryTimeout is the budget of one registry request: every attempt
	// and the body read share it, so retries never multiply it.
	RegistryTimeout = 30 * time.Second
	// RegistryRetries is how many times a request is asked again after a
	// transient failure (5xx, 408, 429, a reset connection), while the
	// budget holds the wait.
	RegistryRetries = 3
	// RegistryBackoff is the first wait before asking again; it doubles on
	// each retry.
	RegistryBackoff = 200 * time.Millisecond

	// RetryBackoffMax is the longest the controller waits between attempts
	// of a run after a transient error.
	RetryBackoffMax = 2 * time.Minute

	// RunTimeout bounds one CLI verification (--timeout): a registry or a
	// cluster that stalls is "could not decide" within it, never a hang.
	RunTimeout = 2 * time.Minute
)

// Positive returns v when it is set (greater than zero) and def otherwise:
// a zero or negative bound in an options struct means "use the default",
// never "no bound".
func Positive[T ~int | ~int64 | ~float64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
