package trustroot

import (
	"context"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Serialize reads the repository at src.Mirror as a client starting from
// src.Root (default: the public root) would, verifying everything, and
// returns exactly the files such a client needs: the root.json versions
// after src.Root, the current timestamp, snapshot and targets metadata and
// the trusted_root.json target, each under the path the mirror serves it
// at. A cluster with no network verifies from these (Source.Files) with the
// same TUF rules, until the metadata expires.
func (p *Pool) Serialize(ctx context.Context, src Source) (map[string][]byte, error) {
	if len(src.Root) == 0 {
		src.Root = p.opts.PublicRoot
	}
	if src.Files != nil {
		return nil, fmt.Errorf("serialize reads a mirror, not a serialized repository")
	}
	if err := src.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.RefreshTimeout)
	defer cancel()
	rec := &recordingFetcher{next: &httpFetcher{ctx: ctx, client: p.http, agent: p.opts.UserAgent}, base: src.base(), files: map[string][]byte{}}
	cfg, err := config.New(src.base(), src.Root)
	if err != nil {
		return nil, err
	}
	cfg.DisableLocalCache = true
	cfg.PrefixTargetsWithHash = true
	cfg.Fetcher = rec
	up, err := updater.New(cfg)
	if err != nil {
		return nil, err
	}
	up.UnsafeSetRefTime(p.now())
	if err := up.Refresh(); err != nil {
		return nil, failed(&Error{Source: src.Describe(), Err: fmt.Errorf("TUF update: %w", err), unreachable: isUnreachable(err)})
	}
	ti, err := up.GetTargetInfo(TrustedRootTarget)
	if err != nil {
		return nil, &Error{Source: src.Describe(), Err: err}
	}
	if ti.Length > maxTrustedRoot {
		return nil, &Error{Source: src.Describe(), Err: fmt.Errorf("TUF target %s is %d bytes, more than the %d the gate reads", TrustedRootTarget, ti.Length, maxTrustedRoot)}
	}
	_, data, err := up.DownloadTarget(ti, "", "")
	if err != nil {
		return nil, failed(&Error{Source: src.Describe(), Err: err, unreachable: isUnreachable(err)})
	}
	if _, err := root.NewTrustedRootFromJSON(data); err != nil {
		return nil, &Error{Source: src.Describe(), Err: fmt.Errorf("TUF target %s is not a Sigstore trusted root: %w", TrustedRootTarget, err)}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.files, nil
}
