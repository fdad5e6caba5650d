package oci

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/transient"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// Keychain supplies registry credentials (default authn.DefaultKeychain:
	// the docker config, DOCKER_CONFIG). The controller passes Kubernetes
	// keychains.
	Keychain authn.Keychain
	// Transport is the base HTTP transport (default SharedTransport()).
	Transport http.RoundTripper
	// Timeout is the budget of one request: every attempt, the waits
	// between them and the body read together (default defaults.RegistryTimeout, 30s), never past the
	// caller's context deadline.
	Timeout time.Duration
	// Retries is how many times a transient failure of an idempotent request
	// is retried within its Timeout (default 3; negative: none). A request
	// that used up its budget is not retried.
	Retries int
	// Backoff is the first retry delay, doubled on each retry (default 200ms);
	// a wait the remaining budget cannot hold ends the retries.
	Backoff time.Duration
	// Limits caps response sizes.
	Limits Limits
	// UserAgent is sent with every request.
	UserAgent string
}

func (opts Options) withDefaults() Options {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Transport == nil {
		opts.Transport = SharedTransport()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaults.RegistryTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = defaults.RegistryRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = defaults.RegistryBackoff
	}
	opts.Limits = opts.Limits.withDefaults()
	return opts
}

// guarded is the transport of a Client: the ping cache over the request
// budget, size caps and bounded retries.
func guarded(opts Options) http.RoundTripper {
	return newPingCache(&guardTransport{
		inner: opts.Transport, timeout: opts.Timeout, retries: opts.Retries,
		backoff: opts.Backoff, limits: opts.Limits,
	})
}

// Transport returns the HTTP transport a Client built from opts sends its
// requests through: one budget per request, size caps, bounded retries of
// idempotent requests, and failures that may go away marked transient
// (pkg/transient) where they arise. It is for code that must call
// go-containerregistry itself, such as the writer of verification
// summaries, so its requests are bounded and classified like every other.
func Transport(opts Options) http.RoundTripper { return guarded(opts.withDefaults()) }

// Client reads from OCI registries. It is safe for concurrent use; share one
// per keychain for the life of the process.
type Client struct {
	opts   Options
	puller *remote.Puller
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	ropts := []remote.Option{
		remote.WithTransport(guarded(opts)),
		remote.WithAuthFromKeychain(opts.Keychain),
		// Retries happen in guardTransport (bounded, context-aware); turn
		// go-containerregistry's own retry layer off so they do not multiply.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
	if opts.UserAgent != "" {
		ropts = append(ropts, remote.WithUserAgent(opts.UserAgent))
	}
	p, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, fmt.Errorf("creating registry client: %w", err)
	}
	return &Client{opts: opts, puller: p}, nil
}

// Limits returns the size caps in force.
func (c *Client) Limits() Limits { return c.opts.Limits }

// RemoteOptions are the go-containerregistry options every call must use:
// the shared Puller (one ping and one token exchange per repository) and
// the caller's context. Pass them to cosign with ociremote.WithRemoteOptions.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.Reuse(c.puller), remote.WithContext(ctx)}
}

// ResolveDigest returns the digest form of ref. A reference already pinned by
// digest is returned as is without contacting the registry; a tag is
// resolved with one HEAD request (a GET when the registry's HEAD answer has
// no digest).
func (c *Client) ResolveDigest(ctx context.Context, ref string) (name.Digest, error) {
	if strings.Contains(ref, "@") {
		// The common case in a pinned pipeline; skip the tag parse attempt.
		d, err := name.NewDigest(ref)
		if err != nil {
			return name.Digest{}, fmt.Errorf("parsing image reference %q: %w", ref, err)
		}
		return d, nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	desc, err := remote.Head(r, c.RemoteOptions(ctx)...)
	if transient.Is(err) {
		// Already retried; a GET would only repeat the wait.
		return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	if err != nil || desc.Digest.Hex == "" {
		gd, gerr := remote.Get(r, c.RemoteOptions(ctx)...)
		if gerr != nil {
			return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, gerr)
		}
		desc = &gd.Descriptor
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// Get fetches the manifest (or index) at ref.
func (c *Client) Get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	return remote.Get(ref, c.RemoteOptions(ctx)...)
}

// Image fetches the image at ref; its layers are read lazily, each under the
// blob cap.
func (c *Client) Image(ctx context.Context, ref name.Reference) (v1.Image, error) {
	return remote.Image(ref, c.RemoteOptions(ctx)...)
}

// Referrers lists the OCI 1.1 referrers of d, through the referrers API or,
// when the registry has none, the fallback `sha256-<hex>` index tag.
func (c *Client) Referrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, error) {
	idx, err := remote.Referrers(d, c.RemoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	return idx.IndexManifest()
}
