package gate

import (
	"context"
	"errors"
	"fmt"
)

// Chain returns a Resolver that asks each resolver in turn and returns the
// first answer that is not ErrUnsupported (ErrNotFound and every other error
// stop the chain: a reference that one resolver is responsible for must not
// be satisfied by another). It implements BundlePinner when a member does.
func Chain(resolvers ...Resolver) Resolver {
	return chain(resolvers)
}

type chain []Resolver

var _ BundlePinner = chain(nil)

func (c chain) Resolve(ctx context.Context, ref Ref) (*Resolved, error) {
	var last error
	for _, r := range c {
		if r == nil {
			continue
		}
		res, err := r.Resolve(ctx, ref)
		if err == nil || !errors.Is(err, ErrUnsupported) {
			return res, err
		}
		last = err
	}
	if last == nil {
		last = fmt.Errorf("no resolver for %s: %w", describeRef(ref), ErrUnsupported)
	}
	return nil, last
}

// PinBundle asks the first member that is a BundlePinner and supports ref.
// Without one it reports ErrUnsupported, and the engine falls back to the
// ArtifactVerifier.
func (c chain) PinBundle(ctx context.Context, ref Ref) (string, error) {
	for _, r := range c {
		p, ok := r.(BundlePinner)
		if !ok {
			continue
		}
		d, err := p.PinBundle(ctx, ref)
		if err == nil || !errors.Is(err, ErrUnsupported) {
			return d, err
		}
	}
	return "", fmt.Errorf("no bundle pinner for %s: %w", ref.Bundle, ErrUnsupported)
}
