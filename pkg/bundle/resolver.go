package bundle

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

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
// it reads is kept (at most 64 bundles) for the life of the Resolver.
type Resolver struct {
	client *oci.Client
	group  singleflight.Group

	mu    sync.Mutex
	ll    *list.List
	cache map[string]*list.Element
}

const resolverCacheSize = 64

// NewResolver returns a Resolver reading through c.
func NewResolver(c *oci.Client) *Resolver {
	return &Resolver{client: c, ll: list.New(), cache: map[string]*list.Element{}}
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
	k := d.String()
	r.mu.Lock()
	if el, ok := r.cache[k]; ok {
		r.ll.MoveToFront(el)
		b := el.Value.(*Bundle)
		r.mu.Unlock()
		return b, nil
	}
	r.mu.Unlock()
	v, err, _ := r.group.Do(k, func() (any, error) {
		b, err := Read(ctx, r.client, d)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.cache[k] = r.ll.PushFront(b)
		for r.ll.Len() > resolverCacheSize {
			last := r.ll.Back()
			r.ll.Remove(last)
			delete(r.cache, last.Value.(*Bundle).Digest.String())
		}
		r.mu.Unlock()
		return b, nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			return Read(ctx, r.client, d)
		}
		return nil, err
	}
	return v.(*Bundle), nil
}
