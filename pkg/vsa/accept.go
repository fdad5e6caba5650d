package vsa

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// ClockSkew is how far in the future a summary's timeVerified may be and
// still be accepted (clocks of two clusters disagree a little); beyond it
// the summary is not fresh, it is wrong.
const ClockSkew = 5 * time.Minute

// Accepted is a summary that may stand in for verifying the image again.
type Accepted struct {
	Policy       PolicyRef
	VerifierID   string
	TimeVerified time.Time
	// Inputs are the attestations the summary's verifier relied on.
	Inputs int
}

// Accept judges a summary whose signature already verified against the
// accepting policy's authorities. subjects are the statement's subject
// digests (sha256:<hex>), predicate its predicate; digest is the image's
// sha256:<hex>. An error says why the summary cannot be accepted.
func Accept(predicateType string, subjects []string, predicate []byte, digest string, policy *v1alpha1.AcceptSummariesPolicy, now time.Time) (*Accepted, error) {
	if predicateType != PredicateType {
		return nil, fmt.Errorf("predicateType %q, want %s", predicateType, PredicateType)
	}
	about := false
	for _, s := range subjects {
		about = about || s == digest
	}
	if !about {
		return nil, fmt.Errorf("it is about %s, not %s", strings.Join(subjects, ", "), digest)
	}
	var p Predicate
	if err := json.Unmarshal(predicate, &p); err != nil {
		return nil, fmt.Errorf("its predicate is not a verification summary: %v", err)
	}
	if p.VerificationResult != ResultPassed {
		return nil, fmt.Errorf("verificationResult is %q, not %s", p.VerificationResult, ResultPassed)
	}
	if p.Verifier.ID == "" {
		return nil, fmt.Errorf("verifier.id is missing")
	}
	if err := namesDigest(p.ResourceURI, digest); err != nil {
		return nil, err
	}
	ref, err := ParsePolicyURI(p.Policy.URI)
	if err != nil {
		return nil, err
	}
	if h := p.Policy.Digest["sha256"]; h != "" {
		ref.Digest = "sha256:" + h
	}
	if !listed(ref, policy.Policies) {
		return nil, fmt.Errorf("it is for policy %s%s, which images.acceptSummaries.policies does not list", ref, digestSuffix(ref.Digest))
	}
	maxAge, err := policy.MaxAgeDuration()
	if err != nil {
		return nil, fmt.Errorf("images.acceptSummaries.maxAge: %v", err)
	}
	switch t := p.TimeVerified; {
	case t == nil || t.IsZero():
		return nil, fmt.Errorf("it does not say when it was verified (timeVerified), so it cannot be shown to be within maxAge %s", policy.MaxAge)
	case t.Sub(now) > ClockSkew:
		return nil, fmt.Errorf("timeVerified %s is %s in the future (more than the %s clock skew allowed)", t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second), ClockSkew)
	case now.Sub(*t) > maxAge:
		return nil, fmt.Errorf("verified %s, %s ago, older than maxAge %s", t.UTC().Format(time.RFC3339), now.Sub(*t).Round(time.Minute), policy.MaxAge)
	}
	return &Accepted{Policy: ref, VerifierID: p.Verifier.ID, TimeVerified: *p.TimeVerified, Inputs: len(p.InputAttestations)}, nil
}

// namesDigest: a resourceUri naming another image must not be accepted for
// this one; the repository may differ (an image promoted by copying keeps
// its digest).
func namesDigest(uri, digest string) error {
	if uri == "" {
		return fmt.Errorf("resourceUri is missing")
	}
	if d, err := name.NewDigest(uri); err == nil {
		if d.DigestStr() != digest {
			return fmt.Errorf("resourceUri %s names %s, not %s", uri, d.DigestStr(), digest)
		}
		return nil
	}
	if strings.Contains(uri, digest) || strings.Contains(uri, strings.Replace(digest, ":", "%3A", 1)) {
		return nil
	}
	return fmt.Errorf("resourceUri %q does not name %s", uri, digest)
}

func listed(ref PolicyRef, refs []v1alpha1.SummaryPolicyRef) bool {
	for _, r := range refs {
		if r.Kind == ref.Kind && r.Name == ref.Name && r.Namespace == ref.Namespace &&
			(r.Digest == "" || r.Digest == ref.Digest) {
			return true
		}
	}
	return false
}

func digestSuffix(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}
