package oci

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/transient"
)

// Limits caps the size of registry responses, by kind of resource.
type Limits struct {
	// Manifest caps manifests, indexes and referrers lists (default 4 MiB).
	Manifest int64
	// Blob caps blobs: signature, attestation, Sigstore bundle and Tekton
	// bundle layers (default 32 MiB).
	Blob int64
	// Other caps everything else: the `/v2/` ping, token responses
	// (default 1 MiB).
	Other int64
}

// Default size caps (Limits). The time budget and retries default to
// pkg/defaults.
const (
	DefaultManifestLimit = 4 << 20
	DefaultBlobLimit     = 32 << 20
	DefaultOtherLimit    = 1 << 20
)

func (l Limits) withDefaults() Limits {
	l.Manifest = defaults.Positive(l.Manifest, DefaultManifestLimit)
	l.Blob = defaults.Positive(l.Blob, DefaultBlobLimit)
	l.Other = defaults.Positive(l.Other, DefaultOtherLimit)
	return l
}

var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Verification fans out over a bounded pool against few registries:
	// keep enough idle connections per host that the pool never redials.
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	return t
})

// SharedTransport is the process-wide HTTP transport every Client uses unless
// told otherwise, so connections are pooled across clients and runs.
func SharedTransport() http.RoundTripper { return sharedTransport() }

// guardTransport applies the request budget, the size caps and the bounded
// retries. It sits below go-containerregistry's auth transport, so token
// requests and the `/v2/` ping are guarded too.
type guardTransport struct {
	inner   http.RoundTripper
	timeout time.Duration
	retries int
	backoff time.Duration
	limits  Limits
}

// RoundTrip sends req, retrying transient failures of idempotent requests.
// Every attempt of one request, and the reading of its body, share one
// budget (timeout, never past the caller's deadline): retries never multiply
// the timeout, so a registry that stalls costs one timeout and is not asked
// again, and a retry whose backoff the budget cannot hold is not started.
func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := 1
	// Only idempotent requests without a body are replayed.
	if (req.Method == http.MethodGet || req.Method == http.MethodHead) && req.Body == nil {
		attempts += t.retries
	}
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	var lastErr error
	lastStatus, sent := 0, 0
retry:
	for {
		sent++
		resp, err := t.once(ctx, req)
		switch {
		case err != nil:
			if parent.Err() != nil || !transientNetError(err) {
				// The caller gave up, or the failure will not go away.
				cancel()
				return nil, err
			}
			lastErr, lastStatus = err, 0
		case retryableStatus(resp.StatusCode):
			lastErr, lastStatus = nil, resp.StatusCode
			// Drain a little so the connection can be reused, then retry.
			_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
			_ = resp.Body.Close()
		default:
			kind, limit := t.limitFor(req)
			if resp.ContentLength > limit {
				_ = resp.Body.Close()
				cancel()
				return nil, &TooLargeError{URL: redact(req), Kind: kind, Limit: limit}
			}
			resp.Body = &guardedBody{
				rc: resp.Body, ctx: ctx, parent: parent, cancel: cancel, remaining: limit, budget: t.timeout,
				tooLarge: &TooLargeError{URL: redact(req), Kind: kind, Limit: limit},
			}
			return resp, nil
		}
		if sent >= attempts || ctx.Err() != nil {
			break
		}
		delay := t.backoff << (sent - 1)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= delay {
			break // the budget cannot hold the wait, let alone another attempt
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			break retry
		case <-timer.C:
		}
	}
	cancel()
	if err := parent.Err(); err != nil {
		return nil, err
	}
	return nil, transient.Mark(&TransientError{Method: req.Method, URL: redact(req), Attempts: sent, Status: lastStatus, Err: lastErr})
}

// once sends one attempt under the request's budget. The budget running out
// (rather than the caller's context ending) is a timeoutError.
func (t *guardTransport) once(ctx context.Context, req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req.Clone(ctx))
	if err != nil {
		if ctx.Err() != nil && req.Context().Err() == nil {
			return nil, &timeoutError{err: err, budget: t.timeout}
		}
		return nil, err
	}
	return resp, nil
}

// limitFor picks the cap from the path of the original request (a blob GET
// redirected to storage keeps the blob cap).
func (t *guardTransport) limitFor(req *http.Request) (string, int64) {
	orig := req
	for orig.Response != nil && orig.Response.Request != nil {
		orig = orig.Response.Request
	}
	p := orig.URL.Path
	switch {
	case strings.Contains(p, "/manifests/"), strings.Contains(p, "/referrers/"):
		return "manifest", t.limits.Manifest
	case strings.Contains(p, "/blobs/"):
		return "blob", t.limits.Blob
	}
	return "response", t.limits.Other
}

func redact(req *http.Request) string {
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// guardedBody enforces the size cap while reading and turns the request's
// budget running out mid-body into a timeout error.
type guardedBody struct {
	rc        io.ReadCloser
	ctx       context.Context
	parent    context.Context
	cancel    context.CancelFunc
	remaining int64
	budget    time.Duration
	tooLarge  *TooLargeError
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// Allow a clean EOF exactly at the cap; anything more is too large.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, b.tooLarge
		}
		return 0, b.wrap(err)
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.rc.Read(p)
	b.remaining -= int64(n)
	return n, b.wrap(err)
}

func (b *guardedBody) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if b.ctx.Err() == context.DeadlineExceeded && b.parent.Err() == nil {
		return transient.Mark(&timeoutError{err: err, budget: b.budget})
	}
	if b.parent.Err() == nil && transientNetError(err) {
		// The connection broke mid-body: reading it again may work.
		return transient.Mark(err)
	}
	return err
}

func (b *guardedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
