package bundle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/cache"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
)

// ContractError is returned by the Resolver for a bundle that breaks the
// contract. The engine gets the same breaks as `bundle` findings from the
// ArtifactVerifier; resolving such a bundle must never yield its content.
type ContractError struct {
	Digest   string
	Problems []string
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("bundle %s breaks the Tekton bundle contract: %s", e.Digest, strings.Join(e.Problems, "; "))
}

// Resolver is a gate.Resolver for bundle references (the bundles-resolver
// form and the legacy bundle field). Bundles are content-addressed, so what
// it reads is kept (at most resolverCacheSize bundles, in the tree's one
// cache type) and read once however many references name it at a time.
type Resolver struct {
	client *oci.Client
	cache  *cache.Cache[*Bundle]
}

// resolverCacheSize bounds the bundles kept; resolverCacheTTL only returns
// their memory in a long-lived process: a bundle read by digest never
// changes.
const (
	resolverCacheSize = 64
	resolverCacheTTL  = 24 * time.Hour
)

// NewResolver returns a Resolver reading through c.
func NewResolver(c *oci.Client) *Resolver {
	return &Resolver{client: c, cache: cache.New[*Bundle](resolverCacheSize, resolverCacheTTL, nil)}
}

var _ gate.Resolver = (*Resolver)(nil)

// Resolve implements gate.Resolver. ref.Bundle should already be a digest
// (the engine pins it and verifies the signature first); a tag is resolved
// here once, for callers that do not pin. References that are not bundles
// are gate.ErrUnsupported; an object missing from the bundle is
// gate.ErrNotFound.
func (r *Resolver) Resolve(ctx context.Context, ref gate.Ref) (*gate.Resolved, error) {
	if ref.Bundle == "" {
		return nil, fmt.Errorf("%w: %s is not a bundle reference", gate.ErrUnsupported, ref.Subject)
	}
	d, err := r.client.ResolveDigest(ctx, ref.Bundle)
	if err != nil {
		if oci.IsNotFound(err) {
			return nil, fmt.Errorf("%w: bundle %s: %v", gate.ErrNotFound, ref.Bundle, err)
		}
		return nil, err
	}
	b, err := r.read(ctx, d)
	if err != nil {
		if oci.IsNotFound(err) {
			return nil, fmt.Errorf("%w: bundle %s: %v", gate.ErrNotFound, d, err)
		}
		return nil, err
	}
	if len(b.Problems) > 0 {
		return nil, &ContractError{Digest: d.String(), Problems: b.Problems}
	}
	kind := ref.Kind
	if kind == "" {
		kind = gate.KindTask
	}
	o, ok := b.Find(kind, ref.Name)
	if !ok {
		return nil, fmt.Errorf("%w: bundle %s has no %s named %q", gate.ErrNotFound, d, strings.ToLower(kind), ref.Name)
	}
	return &gate.Resolved{Object: o.Object.DeepCopyObject(), BundleDigest: d.String(), Source: "bundle " + d.String()}, nil
}

func (r *Resolver) read(ctx context.Context, d name.Digest) (*Bundle, error) {
	return r.cache.Do(ctx, d.String(), func(ctx context.Context) (*Bundle, error) {
		return Read(ctx, r.client, d)
	}, nil)
}
