package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/vex"
	"github.com/security-gate/security-gate/pkg/vsa"
)

// summaryRule is images.acceptSummaries, compiled.
type summaryRule struct {
	policy v1alpha1.AcceptSummariesPolicy
	auths  []*authority
	fp     string
}

func compileSummaries(p *v1alpha1.AcceptSummariesPolicy, lookup func(string, []string) ([]*authority, error)) (*summaryRule, error) {
	auths, err := lookup("spec.images.acceptSummaries.authorities", p.Authorities)
	if err != nil {
		return nil, err
	}
	if len(auths) == 0 {
		return nil, fmt.Errorf("spec.images.acceptSummaries.authorities: no authority may sign a summary")
	}
	if _, err := p.MaxAgeDuration(); err != nil {
		return nil, fmt.Errorf("spec.images.acceptSummaries.maxAge: %w", err)
	}
	return &summaryRule{policy: *p.DeepCopy(), auths: auths, fp: fingerprintOf(auths, "vsa")}, nil
}

// signedSummaries is what the cache keeps: the summaries on a digest that
// verified against the rule's authorities, and those that did not.
type signedSummaries struct {
	signed    []signedStatement
	untrusted []string
}

var summaryTypes = map[string]bool{vsa.PredicateType: true}

// summaryInstead accepts a fresh, trusted verification summary of m in
// place of verifying the image: done is true when one was accepted (res is
// then the whole result). Otherwise res gets a note saying why the
// summaries present were not accepted, and verification goes on.
func (v *Verifier) summaryInstead(ctx context.Context, m *material, d name.Digest, res *gate.ImageResult) (done bool, err error) {
	rule := v.extras.summaries
	if rule == nil {
		return false, nil
	}
	o, err := v.cache.do(ctx, key(d, gate.CheckVerificationSummary, rule.fp), func(ctx context.Context) (outcome, error) {
		signed, untrusted, err := v.signedStatements(ctx, m, summaryTypes, rule.auths)
		if err != nil {
			return outcome{}, err
		}
		return outcome{value: &signedSummaries{signed: signed, untrusted: untrusted}}, nil
	})
	if err != nil {
		return false, fmt.Errorf("image %s: reading its verification summaries: %w", d, err)
	}
	ss, _ := o.value.(*signedSummaries)
	if ss == nil {
		return false, nil
	}
	now := v.now()
	why := append([]string(nil), ss.untrusted...)
	var best *vsa.Accepted
	var bestFrom signedStatement
	for _, s := range ss.signed {
		var subjects []string
		for _, sub := range s.st.Subject {
			for alg, h := range sub.Digest {
				subjects = append(subjects, alg+":"+h)
			}
		}
		a, err := vsa.Accept(s.st.PredicateType, subjects, s.st.Predicate, d.DigestStr(), &rule.policy, now)
		if err != nil {
			why = append(why, fmt.Sprintf("%s (authority %s): %v", s.where, s.authority, err))
			continue
		}
		if best == nil || a.TimeVerified.After(best.TimeVerified) {
			best, bestFrom = a, s
		}
	}
	if best != nil {
		res.Verified = true
		res.Notes = append(res.Notes, gate.Note{Check: gate.CheckVerificationSummary, Message: fmt.Sprintf(
			"accepted the verification summary in %s of %s, signed by authority %s: %s passed policy %s at %s (verifier %s); its signature and attestations were not verified again",
			bestFrom.where, d.DigestStr(), bestFrom.authority, d.DigestStr(), best.Policy, best.TimeVerified.UTC().Format(time.RFC3339), best.VerifierID)})
		res.Evidence = append(res.Evidence, gate.Evidence{URI: bestFrom.uri, Digest: bestFrom.digest})
		return true, nil
	}
	if len(why) > 0 {
		res.Notes = append(res.Notes, gate.Note{Check: gate.CheckVerificationSummary, Message: fmt.Sprintf(
			"no verification summary of %s accepted (images.acceptSummaries), so it was verified: %s", d.DigestStr(), strings.Join(why, "; "))})
	}
	return false, nil
}

// withVEX applies the VEX that rule r trusts to the verified attestations
// of one image: findings it drops leave the scans (copies; the cache is
// never changed) and become notes in res, malformed trusted VEX becomes a
// violation in res. An error means it could not be decided.
func (v *Verifier) withVEX(ctx context.Context, m *material, d name.Digest, r *attRule, atts []*verifiedAtt, subject string, res *gate.ImageResult) ([]*verifiedAtt, error) {
	if r.policy.Vulnerabilities == nil || !hasFindings(atts) {
		return atts, nil
	}
	rule := v.extras.vex[r.policy.Name]
	fp := "untrusted"
	if rule != nil {
		fp = rule.fp
	}
	o, err := v.cache.do(ctx, key(d, "vex/"+r.policy.Name, fp), func(ctx context.Context) (outcome, error) {
		return v.readVEX(ctx, m, r.policy.Name, rule)
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: reading the VEX of attestation %q: %w", subject, r.policy.Name, err)
	}
	for _, f := range o.findings {
		res.Findings = append(res.Findings, gate.Finding{Check: gate.CheckVulnerabilities, Subject: gate.ImageSubject(subject), Message: f, Severity: gate.SeverityViolation})
	}
	vs, _ := o.value.(*vexStatements)
	if vs == nil {
		return atts, nil
	}
	out, notes := applyVEX(r.policy.Name, atts, vs, vex.Image{Repository: d.Context().Name(), Digest: d.DigestStr()}, rule != nil)
	for i := range notes {
		notes[i].Subject = gate.ImageSubject(subject)
	}
	res.Notes = append(res.Notes, notes...)
	res.Evidence = append(res.Evidence, vs.evidence...)
	return out, nil
}
