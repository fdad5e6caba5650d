package verify

import (
	"context"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// signedStatement is one attestation about a digest whose signature
// verified against one of a set of authorities.
type signedStatement struct {
	st        *statement
	authority string
	// layout is classic or bundle; where names it for people; uri and
	// digest locate it (the .att tag and the layer's digest, or the
	// referrer manifest) for verification summaries.
	layout, where, uri, digest string
}

// signedStatements returns every attestation on m of one of types, in both
// layouts, that is about m's digest and verifies against one of auths.
// untrusted says, for people, which were present but did not verify (or are
// about another digest). err means a layout could not be read: could not
// decide. Material the gate refuses to read (too large) is reported in
// untrusted, since nothing in it is trusted.
func (v *Verifier) signedStatements(ctx context.Context, m *material, types map[string]bool, auths []*authority) (out []signedStatement, untrusted []string, err error) {
	atts, err := m.classicAttestations(ctx)
	if undecided(err) {
		return nil, nil, err
	} else if err != nil {
		untrusted = append(untrusted, err.Error())
	}
	tag := m.digest.Context().Tag(fmt.Sprintf("%s-%s.att", m.hash.Algorithm, m.hash.Hex)).String()
	var classicOpts [][]*cosign.CheckOpts
	for i, att := range atts {
		st, err := statementOf(att)
		if err != nil || !types[st.PredicateType] {
			continue
		}
		where := fmt.Sprintf("layer %d of %s", i+1, tag)
		if !st.hasSubject(m.hash) {
			untrusted = append(untrusted, fmt.Sprintf("%s is about %s, not %s", where, st.subjectDigests(), m.digest.DigestStr()))
			continue
		}
		if classicOpts == nil {
			for _, a := range auths {
				opts, err := a.checkOpts(ctx, v.sigstoreRoot, false, func(co *cosign.CheckOpts) {
					co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
				})
				if err != nil {
					return nil, nil, err
				}
				classicOpts = append(classicOpts, opts)
			}
		}
		ok := false
	auth:
		for ai, a := range auths {
			for _, co := range classicOpts[ai] {
				if _, _, err := verifyImageAttestation(ctx, oneSig(att), m.hash, co); err == nil {
					digest := ""
					if h, err := att.Digest(); err == nil {
						digest = h.String()
					}
					out = append(out, signedStatement{st: st, authority: a.name, layout: "classic", where: where, uri: tag, digest: digest})
					ok = true
					break auth
				}
			}
		}
		if !ok {
			untrusted = append(untrusted, fmt.Sprintf("%s is signed by none of %s", where, names(auths)))
		}
	}

	bundles, _, err := m.sigstoreBundles(ctx)
	if undecided(err) {
		return nil, nil, err
	} else if err != nil {
		untrusted = append(untrusted, err.Error())
	}
	var policy sgverify.ArtifactPolicyOption
	for _, b := range bundles {
		if b.statement == nil || !types[b.statement.PredicateType] {
			continue
		}
		where := "bundle " + short(b.ref)
		if !b.statement.hasSubject(m.hash) {
			untrusted = append(untrusted, fmt.Sprintf("%s is about %s, not %s", where, b.statement.subjectDigests(), m.digest.DigestStr()))
			continue
		}
		if policy == nil {
			if policy, err = digestPolicy(m); err != nil {
				return nil, nil, err
			}
		}
		ok := false
	bauth:
		for _, a := range auths {
			opts, err := a.checkOpts(ctx, v.sigstoreRoot, true, nil)
			if err != nil {
				return nil, nil, err
			}
			for _, co := range opts {
				if _, err := verifyNewBundle(ctx, co, policy, b.bundle); err == nil {
					out = append(out, signedStatement{st: b.statement, authority: a.name, layout: "bundle", where: where,
						uri: m.digest.Context().Digest(b.ref).String(), digest: b.ref})
					ok = true
					break bauth
				}
			}
		}
		if !ok {
			untrusted = append(untrusted, fmt.Sprintf("%s is signed by none of %s", where, names(auths)))
		}
	}
	return out, untrusted, nil
}

// presentStatements lists, without verifying anything, the attestations of
// one of types attached to m: what a note says was there but not trusted.
func presentStatements(ctx context.Context, m *material, types map[string]bool) ([]string, error) {
	var out []string
	atts, err := m.classicAttestations(ctx)
	if undecided(err) {
		return nil, err
	}
	for i, att := range atts {
		if st, err := statementOf(att); err == nil && types[st.PredicateType] {
			out = append(out, fmt.Sprintf("layer %d of the .att tag", i+1))
		}
	}
	bundles, _, err := m.sigstoreBundles(ctx)
	if undecided(err) {
		return nil, err
	}
	for _, b := range bundles {
		if b.statement != nil && types[b.statement.PredicateType] {
			out = append(out, "bundle "+short(b.ref))
		}
	}
	return out, nil
}
