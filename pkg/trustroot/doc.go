// Package trustroot supplies the Sigstore trusted roots (Fulcio CAs,
// transparency-log and CT-log keys, timestamp authorities) that keyless
// verification needs, delivered through TUF so that nobody copies a
// trusted_root.json by hand and a key rotation reaches the gate by itself.
//
// A Pool holds one Client per trust root and is shared by everything in a
// process (all runs of the controller, one CLI invocation). A root is one of
//
//   - the public Sigstore instance: the TUF root embedded in sigstore-go
//     (pkg/tuf.DefaultRoot) and its repository (pkg/tuf.DefaultMirror), both
//     injectable through Options so that tests exercise this very path
//     against a repository served on loopback;
//   - a TUF mirror a policy names (its URL, and an initial root.json or the
//     embedded public one);
//   - a serialized TUF repository carried in the policy, for clusters with
//     no network at all (read from memory by the same TUF client).
//
// The TUF work (root rotation walk, thresholds, expiry, rollback and
// length/hash checks) is go-tuf/v2's updater; this package chooses what it
// starts from and keeps what it yields:
//
//   - a cache directory per root (rollback protection across refreshes and
//     restarts needs the last timestamp and snapshot; the newest verified
//     root.json is the next refresh's trust anchor);
//   - an HTTP client with a per-request timeout and a bound on the whole
//     refresh, and size limits on every file;
//   - the injected clock as TUF's reference time, and the earliest expiry of
//     the metadata that delivered a trusted root as that root's own expiry:
//     past it the root is never used;
//   - background refresh: a caller gets the current root at once and
//     triggers a refresh when it is due; only a caller with no usable root
//     waits, for at most Options.Wait, and then cannot decide.
//
// Failures never fall back to another root: a root that cannot be fetched or
// verified is an *Error, marked transient (pkg/transient) when the
// repository was unreachable.
package trustroot
