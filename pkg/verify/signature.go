package verify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// CosignSignPredicate is the predicateType of a cosign v3 image signature
// stored as a Sigstore bundle (a DSSE statement with an empty predicate).
const CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

// signedBy records which authority and layout verified a signature.
type signedBy struct {
	Authority string
	Layout    string
}

// reasons collects why candidates did not verify, deduplicated, for one
// violation message.
type reasons struct{ seen map[string]bool }

func (r *reasons) add(format string, args ...any) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	msg := fmt.Sprintf(format, args...)
	// cosign's messages repeat a prefix per nesting level; keep them short.
	msg = strings.ReplaceAll(msg, "\n", " ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	r.seen[msg] = true
}

func (r *reasons) String() string {
	if len(r.seen) == 0 {
		return ""
	}
	out := make([]string, 0, len(r.seen))
	for m := range r.seen {
		out = append(out, m)
	}
	sort.Strings(out)
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("and %d more", len(out)-5))
	}
	return strings.Join(out, "; ")
}

// verifySignature checks that at least one signature on m, in either
// layout, verifies against one of auths and binds to m's digest. A
// violation is returned as a finding message; an error means "could not
// decide".
func (v *Verifier) verifySignature(ctx context.Context, m *material, auths []*authority) (outcome, error) {
	var why reasons
	found := 0

	// Classic layout first: it is one manifest and one blob away.
	// A layout that cannot be read does not stop the other from passing,
	// but without a pass it means "could not decide".
	var fetchErr error
	sigs, err := m.classicSignatures(ctx)
	if undecided(err) {
		fetchErr = err
	} else if err != nil {
		why.add("%v", err)
	}
	found += len(sigs)
	if len(sigs) > 0 {
		for _, a := range auths {
			opts, err := a.checkOpts(ctx, v.sigstoreRoot, false, func(co *cosign.CheckOpts) {
				// Without it a signature copied from another image verifies.
				co.ClaimVerifier = cosign.SimpleClaimVerifier
			})
			if err != nil {
				return outcome{}, err
			}
			for _, sig := range sigs {
				for _, co := range opts {
					if _, err := verifyImageSignature(ctx, sig, m.hash, co); err != nil {
						why.add("authority %s: %v", a.name, err)
						continue
					}
					return outcome{value: signedBy{Authority: a.name, Layout: "classic"}}, nil
				}
			}
		}
	}

	// Sigstore bundles attached as referrers (cosign v3).
	bundles, notes, err := m.sigstoreBundles(ctx)
	if undecided(err) {
		fetchErr = err
	} else if err != nil {
		why.add("%v", err)
	}
	for _, n := range notes {
		why.add("%s", n)
	}
	var candidates []*sigBundle
	for _, b := range bundles {
		if b.statement == nil || b.statement.PredicateType == CosignSignPredicate {
			candidates = append(candidates, b)
		}
	}
	found += len(candidates)
	if len(candidates) > 0 {
		policy, err := digestPolicy(m)
		if err != nil {
			return outcome{}, err
		}
		for _, a := range auths {
			opts, err := a.checkOpts(ctx, v.sigstoreRoot, true, nil)
			if err != nil {
				return outcome{}, err
			}
			for _, b := range candidates {
				if b.statement != nil && !b.statement.hasSubject(m.hash) {
					why.add("bundle %s signs %s, not this image", short(b.ref), b.statement.subjectDigests())
					continue
				}
				for _, co := range opts {
					if _, err := verifyNewBundle(ctx, co, policy, b.bundle); err != nil {
						why.add("authority %s: bundle %s: %v", a.name, short(b.ref), err)
						continue
					}
					return outcome{value: signedBy{Authority: a.name, Layout: "bundle"}}, nil
				}
			}
		}
	}

	if fetchErr != nil {
		return outcome{}, fetchErr
	}
	if found == 0 && len(why.seen) == 0 {
		return outcome{findings: []string{fmt.Sprintf("image %s is not signed: no cosign signature in either layout (tag %s-%s.sig, or a Sigstore bundle referrer); expected one from authority %s",
			m.digest.DigestStr(), m.hash.Algorithm, m.hash.Hex, names(auths))}}, nil
	}
	return outcome{findings: []string{fmt.Sprintf("no signature of %s verified against authority %s: %s",
		m.digest.DigestStr(), names(auths), why.String())}}, nil
}

func digestPolicy(m *material) (sgverify.ArtifactPolicyOption, error) {
	b, err := hex.DecodeString(m.hash.Hex)
	if err != nil {
		return nil, err
	}
	return sgverify.WithArtifactDigest(m.hash.Algorithm, b), nil
}

func names(as []*authority) string {
	n := make([]string, len(as))
	for i, a := range as {
		n[i] = a.name
	}
	return strings.Join(n, " or ")
}

func short(digest string) string {
	if i := strings.IndexByte(digest, ':'); i >= 0 && len(digest) > i+13 {
		return digest[:i+13]
	}
	return digest
}

// undecided reports whether err must surface as "could not decide".
func undecided(err error) bool {
	var refused *errRefused
	return err != nil && !errors.As(err, &refused)
}
