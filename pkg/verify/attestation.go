package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/vuln"
)

// attRule is one spec.attestations entry, compiled.
type attRule struct {
	policy v1alpha1.AttestationPolicy
	types  map[string]bool
	auths  []*authority
	maxAge time.Duration
	vuln   bool
	fp     string
}

// verifiedAtt is one verified, parsed attestation. The cache keeps every
// verified attestation of a digest for a rule ([]*verifiedAtt); what depends
// on the clock is judged from it on every run.
type verifiedAtt struct {
	PredicateType string
	Authority     string
	Layout        string
	// Where names it for messages: a layer of the .att tag or a bundle.
	Where string
	// Evidence locates it for verification summaries (evidence.go).
	Evidence gate.Evidence
	// Finished is the scan (or build) finish time; zero when the predicate
	// does not say.
	Finished time.Time
	// Scan is set for vulnerability predicates.
	Scan *vuln.Scan
}

func (r *attRule) typeList() string {
	ts := make([]string, 0, len(r.types))
	for t := range r.types {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return strings.Join(ts, ", ")
}

// verifyAttestation finds the attestations of r's predicate types on m in
// both layouts (the classic .att tag, and Sigstore bundles as referrers or
// in the fallback tag), verifies each against r's authorities, checks its
// subject and parses its predicate. It returns every verified attestation:
// one layout never hides the other, and which of them count is judge's rule.
// A verified attestation whose predicate cannot be read is a violation even
// beside others that read well, and so is material the gate refuses to read;
// a layout that cannot be fetched means "could not decide", whatever the
// other holds.
func (v *Verifier) verifyAttestation(ctx context.Context, m *material, r *attRule) (outcome, error) {
	var why reasons
	var fetchErr error
	var verified []*verifiedAtt
	var unreadable []string
	matched := 0
	consider := func(st *statement, layout, where, authority string, ev gate.Evidence) {
		va, err := parsePredicate(st, r.vuln)
		if err != nil {
			unreadable = append(unreadable, fmt.Sprintf("attestation %q: the attestation of type %s in %s of %s verified against authority %s, but its predicate is unparseable: %v",
				r.policy.Name, st.PredicateType, where, m.digest.DigestStr(), authority, err))
			return
		}
		va.Authority, va.Layout, va.Where, va.Evidence = authority, layout, where, ev
		verified = append(verified, va)
	}

	var refused []string
	atts, err := m.classicAttestations(ctx)
	if undecided(err) {
		fetchErr = err
	} else if err != nil {
		refused = append(refused, err.Error())
	}
	var classicOpts [][]*cosign.CheckOpts
	for i, att := range atts {
		st, err := statementOf(att)
		if err != nil {
			why.add("layer %d of the .att tag: %v", i+1, err)
			continue
		}
		if !r.types[st.PredicateType] {
			continue
		}
		matched++
		if !st.hasSubject(m.hash) {
			why.add("an attestation of type %s is about %s, not %s", st.PredicateType, st.subjectDigests(), m.digest.DigestStr())
			continue
		}
		if classicOpts == nil {
			for _, a := range r.auths {
				opts, err := a.checkOpts(ctx, v.sigstoreRoot, false, func(co *cosign.CheckOpts) {
					co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
				})
				if err != nil {
					return outcome{}, err
				}
				classicOpts = append(classicOpts, opts)
			}
		}
	auth:
		for ai, a := range r.auths {
			for _, co := range classicOpts[ai] {
				if _, _, err := verifyImageAttestation(ctx, oneSig(att), m.hash, co); err != nil {
					why.add("authority %s: %v", a.name, err)
					continue
				}
				consider(st, "classic", fmt.Sprintf("layer %d of the .att tag", i+1), a.name, classicEvidence(m, att))
				break auth
			}
		}
	}

	bundles, notes, err := m.sigstoreBundles(ctx)
	if undecided(err) {
		fetchErr = err
	} else if err != nil {
		refused = append(refused, err.Error())
	}
	for _, n := range notes {
		why.add("%s", n)
	}
	var policy sgverify.ArtifactPolicyOption
	for _, b := range bundles {
		if b.statement == nil || !r.types[b.statement.PredicateType] {
			continue
		}
		matched++
		if !b.statement.hasSubject(m.hash) {
			why.add("bundle %s attests %s, not %s", short(b.ref), b.statement.subjectDigests(), m.digest.DigestStr())
			continue
		}
		if policy == nil {
			if policy, err = digestPolicy(m); err != nil {
				return outcome{}, err
			}
		}
	bauth:
		for _, a := range r.auths {
			opts, err := a.checkOpts(ctx, v.sigstoreRoot, true, nil)
			if err != nil {
				return outcome{}, err
			}
			for _, co := range opts {
				if _, err := verifyNewBundle(ctx, co, policy, b.bundle); err != nil {
					why.add("authority %s: bundle %s: %v", a.name, short(b.ref), err)
					continue
				}
				consider(b.statement, "bundle", "bundle "+short(b.ref), a.name, bundleEvidence(m, b))
				break bauth
			}
		}
	}

	// An unread layout may hold the attestation that fails the image.
	if fetchErr != nil {
		return outcome{}, fetchErr
	}
	findings := unreadable
	if len(refused) > 0 {
		findings = append(findings, fmt.Sprintf("attestation %q: the attestations of %s cannot all be checked: %s",
			r.policy.Name, m.digest.DigestStr(), strings.Join(refused, "; ")))
	}
	if len(verified) > 0 || len(unreadable) > 0 || matched == 0 && len(refused) > 0 {
		return outcome{findings: findings, value: verified}, nil
	}
	if matched == 0 {
		msg := fmt.Sprintf("attestation %q: image %s has no attestation of type %s (predicateType %s)",
			r.policy.Name, m.digest.DigestStr(), r.policy.Type, r.typeList())
		if s := why.String(); s != "" {
			msg += ": " + s
		}
		return outcome{findings: append(findings, msg)}, nil
	}
	return outcome{findings: append(findings, fmt.Sprintf("attestation %q: no attestation of type %s on %s verified against authority %s: %s",
		r.policy.Name, r.policy.Type, m.digest.DigestStr(), names(r.auths), why.String()))}, nil
}

// parsePredicate reads the predicate of a verified statement. A vulnerability
// predicate goes to pkg/vuln; provenance must have its required fields;
// anything else must at least be a JSON object.
func parsePredicate(st *statement, wantVuln bool) (*verifiedAtt, error) {
	va := &verifiedAtt{PredicateType: st.PredicateType}
	if wantVuln || vuln.IsVulnPredicateType(st.PredicateType) {
		s, err := vuln.Parse(st.PredicateType, st.Predicate)
		if err != nil {
			return nil, err
		}
		va.Scan, va.Finished = s, s.FinishedOn
		return va, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(st.Predicate, &obj); err != nil || obj == nil {
		return nil, errors.New("predicate is not a JSON object")
	}
	switch strings.TrimPrefix(st.PredicateType, "https://") {
	case "slsa.dev/provenance/v0.2":
		var p struct {
			Builder *struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				BuildFinishedOn *time.Time `json:"buildFinishedOn"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return nil, fmt.Errorf("SLSA v0.2 provenance: %v", err)
		}
		if p.Builder == nil || p.Builder.ID == "" {
			return nil, errors.New("SLSA v0.2 provenance: builder.id missing")
		}
		if p.Metadata.BuildFinishedOn != nil {
			va.Finished = *p.Metadata.BuildFinishedOn
		}
	case "slsa.dev/provenance/v1":
		var p struct {
			BuildDefinition *struct {
				BuildType string `json:"buildType"`
			} `json:"buildDefinition"`
			RunDetails *struct {
				Builder *struct {
					ID string `json:"id"`
				} `json:"builder"`
				Metadata struct {
					FinishedOn *time.Time `json:"finishedOn"`
				} `json:"metadata"`
			} `json:"runDetails"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return nil, fmt.Errorf("SLSA v1 provenance: %v", err)
		}
		if p.BuildDefinition == nil || p.BuildDefinition.BuildType == "" {
			return nil, errors.New("SLSA v1 provenance: buildDefinition.buildType missing")
		}
		if p.RunDetails == nil || p.RunDetails.Builder == nil || p.RunDetails.Builder.ID == "" {
			return nil, errors.New("SLSA v1 provenance: runDetails.builder.id missing")
		}
		if p.RunDetails.Metadata.FinishedOn != nil {
			va.Finished = *p.RunDetails.Metadata.FinishedOn
		}
	}
	return va, nil
}
