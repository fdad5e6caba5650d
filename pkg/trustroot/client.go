package trustroot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/security-gate/security-gate/pkg/transient"
)

// maxTrustedRoot bounds the trusted_root.json target (the public one is
// about 10 KiB); a repository announcing more is refused before download.
const maxTrustedRoot = 4 << 20

// Error is a trust root that could not be obtained or verified. It is never
// a pass: callers report it as "could not decide".
type Error struct {
	// Source describes the repository.
	Source string
	Err    error
	// unreachable: the repository could not be reached (network, timeout,
	// 5xx) or did not answer in time, which may go away on retry.
	unreachable bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("Sigstore trust root from %s: %v", e.Source, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// failed returns e, marked transient (pkg/transient) when the repository
// was unreachable: retrying may help then, and only then.
func failed(e *Error) error {
	if e.unreachable {
		return transient.Mark(e)
	}
	return e
}

// state is one trusted root as a refresh delivered it.
type state struct {
	tr *root.TrustedRoot
	// expires is the earliest expiry of the TUF metadata (root, timestamp,
	// snapshot, targets) that vouched for tr: after it, tr is not used.
	expires time.Time
	fetched time.Time
	// rootJSON is the newest verified root.json, the next trust anchor.
	rootJSON    []byte
	rootVersion int64
}

// Client keeps one trust root current. It is safe for concurrent use; one
// refresh runs at a time and its result is shared by every caller.
type Client struct {
	pool   *Pool
	src    Source
	dir    string
	anchor []byte // the initial root.json

	mu       sync.Mutex
	cur      *state
	latest   []byte // newest verified root.json, also after cur expired
	inflight chan struct{}
	lastErr  error
	lastFail time.Time
	lastUsed time.Time
}

// Describe names the client's repository in messages.
func (c *Client) Describe() string { return c.src.Describe() }

// TrustedMaterial returns the current trusted root. A root that is due for
// a refresh is returned at once and refreshed in the background. Without a
// usable root (first use, or the last one expired) the caller waits for a
// refresh, at most Options.Wait and never past ctx, and gets an *Error when
// none arrives: an expired root is never returned.
func (c *Client) TrustedMaterial(ctx context.Context) (root.TrustedMaterial, error) {
	now := c.pool.now()
	c.mu.Lock()
	c.lastUsed = now
	if st := c.cur; st != nil && now.Before(st.expires) {
		if c.dueLocked(st, now) {
			c.startLocked()
		}
		c.mu.Unlock()
		return st.tr, nil
	}
	if c.inflight == nil && c.lastErr != nil && now.Sub(c.lastFail) < c.pool.opts.RetryAfter {
		// A refresh failed moments ago: answer with it instead of asking
		// the repository again for every verification.
		err := c.lastErr
		c.mu.Unlock()
		return nil, err
	}
	done := c.startLocked()
	c.mu.Unlock()

	timer := time.NewTimer(c.pool.opts.Wait)
	defer timer.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, failed(&Error{Source: c.Describe(), unreachable: true,
			Err: fmt.Errorf("no trusted root yet, stopped waiting for the TUF refresh: %w", ctx.Err())})
	case <-timer.C:
		return nil, failed(&Error{Source: c.Describe(), unreachable: true,
			Err: fmt.Errorf("no trusted root yet, and the TUF refresh did not finish within %s (it goes on in the background)", c.pool.opts.Wait)})
	}
	return c.usable()
}

// Refresh runs a refresh now (or joins the one in flight) and waits for it.
// The current root stays in use if it fails.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	done := c.startLocked()
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// usable returns the current root if it has not expired, else the error of
// the last refresh.
func (c *Client) usable() (root.TrustedMaterial, error) {
	now := c.pool.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.cur; st != nil && now.Before(st.expires) {
		return st.tr, nil
	}
	if c.lastErr != nil {
		return nil, c.lastErr
	}
	if c.cur != nil {
		return nil, &Error{Source: c.Describe(), Err: fmt.Errorf("the trusted root expired at %s (its TUF metadata expired) and no newer one was delivered",
			c.cur.expires.UTC().Format(time.RFC3339))}
	}
	return nil, failed(&Error{Source: c.Describe(), unreachable: true, Err: errors.New("no trusted root yet")})
}

// dueLocked: refresh every RefreshInterval, and early when the metadata
// expires within one.
func (c *Client) dueLocked(st *state, now time.Time) bool {
	iv := c.pool.opts.RefreshInterval
	if now.Sub(st.fetched) < iv && st.expires.Sub(now) >= iv {
		return false
	}
	// After a failure, the next try waits RetryAfter.
	return c.lastErr == nil || now.Sub(c.lastFail) >= c.pool.opts.RetryAfter
}

// startLocked starts a refresh unless one is running, and returns the
// channel closed when it ends. The refresh runs under the pool's context,
// not a caller's: a caller that stops waiting does not abort a refresh
// others need.
func (c *Client) startLocked() chan struct{} {
	if c.inflight != nil {
		return c.inflight
	}
	done := make(chan struct{})
	c.inflight = done
	anchor := c.latest
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(c.pool.ctx, c.pool.opts.RefreshTimeout)
		st, err := c.refresh(ctx, anchor)
		outOfTime := ctx.Err() != nil
		cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.inflight = nil
		if err != nil {
			e := failed(&Error{Source: c.Describe(), Err: err, unreachable: isUnreachable(err) || outOfTime})
			c.lastErr, c.lastFail = e, c.pool.now()
			c.pool.log("trust root refresh failed", "source", c.Describe(), "error", err.Error())
			return
		}
		c.cur, c.latest, c.lastErr = st, st.rootJSON, nil
		c.pool.log("trust root refreshed", "source", c.Describe(), "rootVersion", st.rootVersion,
			"expires", st.expires.UTC().Format(time.RFC3339))
	}()
	return done
}

// refresh runs one TUF update (go-tuf's updater: root walk, timestamp,
// snapshot, targets, all verified against the reference time) and fetches the
// trusted_root.json target.
func (c *Client) refresh(ctx context.Context, latest []byte) (*state, error) {
	refTime := c.pool.now()
	anchor := c.trustAnchor(latest)
	cfg, err := config.New(c.src.base(), anchor)
	if err != nil {
		return nil, err
	}
	cfg.LocalMetadataDir = c.dir
	cfg.LocalTargetsDir = filepath.Join(c.dir, "targets")
	cfg.PrefixTargetsWithHash = true
	cfg.Fetcher = c.fetcher(ctx)
	up, err := updater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting the TUF update (cache %s): %w", c.dir, err)
	}
	// The injected clock is TUF's reference time too, so metadata expiry
	// is judged on the same clock as everything else.
	up.UnsafeSetRefTime(refTime)
	if err := up.Refresh(); err != nil {
		return nil, fmt.Errorf("TUF update: %w", err)
	}
	ti, err := up.GetTargetInfo(TrustedRootTarget)
	if err != nil {
		return nil, fmt.Errorf("TUF target %s: %w", TrustedRootTarget, err)
	}
	if ti.Length > maxTrustedRoot {
		return nil, fmt.Errorf("TUF target %s is %d bytes, more than the %d the gate reads", TrustedRootTarget, ti.Length, maxTrustedRoot)
	}
	_, data, err := up.FindCachedTarget(ti, "")
	if err != nil || data == nil {
		if _, data, err = up.DownloadTarget(ti, "", ""); err != nil {
			return nil, fmt.Errorf("TUF target %s: %w", TrustedRootTarget, err)
		}
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("TUF target %s is not a Sigstore trusted root: %w", TrustedRootTarget, err)
	}
	tm := up.GetTrustedMetadataSet()
	targets := tm.Targets[metadata.TARGETS]
	if tm.Root == nil || tm.Timestamp == nil || tm.Snapshot == nil || targets == nil {
		return nil, errors.New("TUF update ended without a complete set of top-level metadata")
	}
	expires := tm.Root.Signed.Expires
	for _, e := range []time.Time{tm.Timestamp.Signed.Expires, tm.Snapshot.Signed.Expires, targets.Signed.Expires} {
		if e.Before(expires) {
			expires = e
		}
	}
	rootJSON, err := tm.Root.ToBytes(false)
	if err != nil {
		return nil, err
	}
	return &state{tr: tr, expires: expires, fetched: refTime, rootJSON: rootJSON, rootVersion: tm.Root.Signed.Version}, nil
}

// trustAnchor is where a refresh starts: the newest root this process
// verified, else the root.json a previous process left in the cache (TUF's
// local trusted root: starting from an older one would let a repository
// replay a superseded root), else the initial root.
func (c *Client) trustAnchor(latest []byte) []byte {
	if latest != nil {
		return latest
	}
	cached, err := os.ReadFile(filepath.Join(c.dir, metadata.ROOT+".json"))
	if err != nil || CheckRoot(cached) != nil {
		return c.anchor
	}
	initial, err1 := metadata.Root().FromBytes(c.anchor)
	disk, err2 := metadata.Root().FromBytes(cached)
	if err1 != nil || err2 != nil || disk.Signed.Version < initial.Signed.Version {
		return c.anchor
	}
	return cached
}

func (c *Client) fetcher(ctx context.Context) fetcher.Fetcher {
	if c.src.Files != nil {
		return &mapFetcher{base: serializedBase, files: c.src.Files}
	}
	return &httpFetcher{ctx: ctx, client: c.pool.http, agent: c.pool.opts.UserAgent}
}
