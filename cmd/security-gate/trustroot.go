package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/pkg/version"
)

// tufOptions are the flags choosing where Sigstore trust roots come from
// and where their TUF metadata is cached.
type tufOptions struct {
	cacheDir string // --tuf-cache-dir; "" the user cache directory
	mirror   string // --sigstore-tuf-mirror
	rootFile string // --sigstore-tuf-root
}

func (t *tufOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.cacheDir, "tuf-cache-dir", "", "")
	fs.StringVar(&t.mirror, "sigstore-tuf-mirror", "", "")
	fs.StringVar(&t.rootFile, "sigstore-tuf-root", "", "")
}

// check validates the flags without touching the network.
func (t *tufOptions) check() error {
	if t.mirror != "" {
		if err := trustroot.CheckMirrorURL(t.mirror); err != nil {
			return usagef("--sigstore-tuf-mirror: %v", err)
		}
	}
	if t.rootFile != "" && t.mirror == "" {
		return usagef("--sigstore-tuf-root needs --sigstore-tuf-mirror: name the TUF repository this root belongs to")
	}
	return nil
}

// pool opens the invocation's trust-root pool, when spec needs one: TUF metadata cached under
// --tuf-cache-dir (default: the user cache directory, so rollback protection
// spans invocations; a private temporary directory when there is none),
// each repository request bounded by timeout. It is closed when ctx ends.
// The returned source stands for the public instance when the flags name
// one (nil: the public instance itself).
func (t *tufOptions) pool(ctx context.Context, spec *v1alpha1.SecurityGateSpec, timeout time.Duration) (*trustroot.Pool, *trustroot.Source, error) {
	if err := t.check(); err != nil {
		return nil, nil, err
	}
	if !needsTrustRoots(spec) {
		// Keys without transparency-log proofs: nothing to fetch or cache.
		return nil, nil, nil
	}
	var public *trustroot.Source
	if t.mirror != "" {
		public = &trustroot.Source{Mirror: t.mirror}
		if t.rootFile != "" {
			b, err := os.ReadFile(t.rootFile)
			if err != nil {
				return nil, nil, fmt.Errorf("--sigstore-tuf-root: %w", err)
			}
			if err := trustroot.CheckRoot(b); err != nil {
				return nil, nil, fmt.Errorf("--sigstore-tuf-root %s: %w", t.rootFile, err)
			}
			public.Root = b
		}
	}
	dir := t.cacheDir
	if dir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "security-gate", "tuf")
			if os.MkdirAll(dir, 0o700) != nil {
				// A read-only home (a Task step): a private directory,
				// rollback protection for this invocation only.
				dir = ""
			}
		}
	}
	p, err := trustroot.NewPool(trustroot.Options{CacheDir: dir, Timeout: timeout, UserAgent: "security-gate/" + version.Get().Version})
	if err != nil {
		return nil, nil, fmt.Errorf("--tuf-cache-dir: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = p.Close()
	}()
	return p, public, nil
}

// needsTrustRoots reports whether an authority of spec may need a Sigstore
// trust root from TUF: keyless without trustedRoot.data, or a key whose
// signatures must carry a transparency-log proof.
func needsTrustRoots(spec *v1alpha1.SecurityGateSpec) bool {
	for _, a := range spec.Authorities {
		switch {
		case a.Keyless != nil && a.Keyless.TrustedRoot == nil:
			return true
		case a.Key != nil && !a.IgnoreTlog:
			return true
		}
	}
	return false
}
