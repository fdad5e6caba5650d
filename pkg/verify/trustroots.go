package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/trustroot"
)

// rootSet resolves where a verifier's authorities take their Sigstore trust
// roots from: the process's shared trustroot.Pool, each lookup bounded by
// wait (the registry timeout), so a root that is not there yet costs a
// verdict no more than a registry request would.
type rootSet struct {
	pool *trustroot.Pool
	wait time.Duration
	// publicSrc replaces the pool's public instance when set.
	publicSrc *trustroot.Source
}

// bounded wraps c so that a caller waits at most r.wait for a root.
func (r *rootSet) bounded(c *trustroot.Client) RootFunc {
	return func(ctx context.Context) (root.TrustedMaterial, error) {
		if r.wait > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, r.wait)
			defer cancel()
		}
		return c.TrustedMaterial(ctx)
	}
}

// public is the public Sigstore instance's root (or what stands for it),
// nil without a pool.
func (r *rootSet) public() RootFunc {
	if r == nil || r.pool == nil {
		return nil
	}
	if r.publicSrc == nil {
		return r.bounded(r.pool.Public())
	}
	c, err := r.pool.Client(*r.publicSrc)
	if err != nil {
		return func(context.Context) (root.TrustedMaterial, error) {
			return nil, fmt.Errorf("the Sigstore TUF repository configured for the public instance: %w", err)
		}
	}
	return r.bounded(c)
}

// publicID names what stands for the public instance, for fingerprints: a
// configured mirror (and root) is another trust root.
func (r *rootSet) publicID() string {
	if r == nil || r.publicSrc == nil {
		return ""
	}
	return fmt.Sprintf("%s %x", r.publicSrc.Mirror, sha256.Sum256(r.publicSrc.Root))
}

// tuf returns the root of a keyless.tuf repository and an identifier of the
// repository for the authority's fingerprint.
func (r *rootSet) tuf(t *v1alpha1.TUFRepository) (RootFunc, string, error) {
	if r == nil || r.pool == nil {
		return nil, "", errors.New("no TUF client is available here, so this trust root cannot be read")
	}
	src := trustroot.Source{Mirror: t.Mirror, Root: []byte(t.Root)}
	field := "mirror"
	if t.Repository != "" {
		files, err := t.Files()
		if err != nil {
			return nil, "", fmt.Errorf("repository: %w", err)
		}
		src.Files, field = files, "repository"
	}
	c, err := r.pool.Client(src)
	if err != nil {
		if t.Root != "" {
			field += " or root"
		}
		return nil, "", fmt.Errorf("%s: %w", field, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q\n%q\n%q\n", t.Mirror, t.Root, t.Repository)
	return r.bounded(c), hex.EncodeToString(h.Sum(nil)), nil
}
