package vsa

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// PredicateType is the VSA v1 predicate type.
const PredicateType = "https://slsa.dev/verification_summary/v1"

// StatementType is the in-toto statement type written.
const StatementType = "https://in-toto.io/Statement/v1"

// DefaultVerifierID identifies the gate as the verifier.
const DefaultVerifierID = "https://github.com/security-gate/security-gate"

// LevelUnevaluated is the only verifiedLevels entry the gate writes: it
// judged a policy and makes no claim about a SLSA track level.
const LevelUnevaluated = "SLSA_BUILD_LEVEL_UNEVALUATED"

// ResultPassed is the only verificationResult the gate writes.
const ResultPassed = "PASSED"

// ResourceDescriptor is the in-toto resource descriptor subset a VSA uses.
type ResourceDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Verifier identifies who verified.
type Verifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Predicate is https://slsa.dev/verification_summary/v1.
type Predicate struct {
	Verifier           Verifier             `json:"verifier"`
	TimeVerified       *time.Time           `json:"timeVerified,omitempty"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	SlsaVersion        string               `json:"slsaVersion,omitempty"`
}

// Subject is an in-toto subject.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is an in-toto statement carrying a VSA.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Predicate `json:"predicate"`
}

// PolicyRef names the policy a summary records.
type PolicyRef struct {
	// Kind is ClusterSecurityGate or SecurityGate.
	Kind string
	// Namespace is a SecurityGate's namespace ("" for a policy file given
	// to the CLI without one).
	Namespace string
	Name      string
	// Digest is sha256:<hex> of the policy's spec (SpecDigest).
	Digest string
}

const policyURIBase = "https://securitygate.dev/v1alpha1/"

// URI is the policy's identifier in a summary.
func (p PolicyRef) URI() string {
	plural := strings.ToLower(p.Kind) + "s"
	if p.Namespace != "" {
		return policyURIBase + "namespaces/" + p.Namespace + "/" + plural + "/" + p.Name
	}
	return policyURIBase + plural + "/" + p.Name
}

// String is kind/name or kind/namespace/name.
func (p PolicyRef) String() string {
	if p.Namespace != "" {
		return p.Kind + "/" + p.Namespace + "/" + p.Name
	}
	return p.Kind + "/" + p.Name
}

// ParsePolicyURI reads a URI written by PolicyRef.URI.
func ParsePolicyURI(uri string) (PolicyRef, error) {
	rest, ok := strings.CutPrefix(uri, policyURIBase)
	if !ok {
		return PolicyRef{}, fmt.Errorf("policy.uri %q is not a security-gate policy (want %s…)", uri, policyURIBase)
	}
	parts := strings.Split(rest, "/")
	var ref PolicyRef
	switch {
	case len(parts) == 4 && parts[0] == "namespaces":
		ref.Namespace, parts = parts[1], parts[2:]
	case len(parts) != 2:
		return PolicyRef{}, fmt.Errorf("policy.uri %q: want %s<kind>s/<name> or %snamespaces/<ns>/<kind>s/<name>", uri, policyURIBase, policyURIBase)
	}
	switch parts[0] {
	case "clustersecuritygates":
		ref.Kind = v1alpha1.KindClusterSecurityGate
	case "securitygates":
		ref.Kind = v1alpha1.KindSecurityGate
	default:
		return PolicyRef{}, fmt.Errorf("policy.uri %q: unknown kind %q", uri, parts[0])
	}
	if ref.Kind == v1alpha1.KindClusterSecurityGate && ref.Namespace != "" {
		return PolicyRef{}, fmt.Errorf("policy.uri %q: a ClusterSecurityGate has no namespace", uri)
	}
	ref.Name = parts[1]
	if ref.Name == "" {
		return PolicyRef{}, fmt.Errorf("policy.uri %q: no name", uri)
	}
	return ref, nil
}

// SpecDigest is sha256:<hex> of spec as JSON: the policy content a summary
// pins. Give it the defaulted spec the gate judged with.
func SpecDigest(spec *v1alpha1.SecurityGateSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:]), nil
}

// Input is one attestation or document a verdict relied on.
type Input struct {
	// URI locates it, e.g. registry/repository@sha256:<manifest> of the
	// .att tag or of a referrer.
	URI string
	// Digest is sha256:<hex> of the attestation itself (the DSSE envelope
	// or Sigstore bundle as stored, or a VEX document).
	Digest string
}

// Build returns the statement summarising that digestRef
// (registry/repository@sha256:<hex>) passed policy at verifiedAt.
func Build(digestRef string, policy PolicyRef, verifierID, version string, verifiedAt time.Time, inputs []Input) (*Statement, error) {
	d, err := name.NewDigest(digestRef)
	if err != nil {
		return nil, fmt.Errorf("summary subject %q: %w", digestRef, err)
	}
	alg, hexd, ok := strings.Cut(d.DigestStr(), ":")
	if !ok || alg != "sha256" {
		return nil, fmt.Errorf("summary subject %q: want a sha256 digest", digestRef)
	}
	pd := map[string]string{}
	if policy.Digest != "" {
		a, h, ok := strings.Cut(policy.Digest, ":")
		if !ok {
			return nil, fmt.Errorf("policy digest %q: want sha256:<hex>", policy.Digest)
		}
		pd[a] = h
	}
	if verifierID == "" {
		verifierID = DefaultVerifierID
	}
	at := verifiedAt.UTC().Truncate(time.Second)
	p := Predicate{
		Verifier:           Verifier{ID: verifierID, Version: map[string]string{"security-gate": version}},
		TimeVerified:       &at,
		ResourceURI:        d.String(),
		Policy:             ResourceDescriptor{URI: policy.URI(), Digest: pd},
		VerificationResult: ResultPassed,
		VerifiedLevels:     []string{LevelUnevaluated},
		SlsaVersion:        "1.0",
	}
	seen := map[string]bool{}
	for _, in := range inputs {
		a, h, ok := strings.Cut(in.Digest, ":")
		if !ok || seen[in.Digest+"|"+in.URI] {
			continue
		}
		seen[in.Digest+"|"+in.URI] = true
		p.InputAttestations = append(p.InputAttestations, ResourceDescriptor{URI: in.URI, Digest: map[string]string{a: h}})
	}
	sort.Slice(p.InputAttestations, func(i, j int) bool {
		return p.InputAttestations[i].URI+fmt.Sprint(p.InputAttestations[i].Digest) < p.InputAttestations[j].URI+fmt.Sprint(p.InputAttestations[j].Digest)
	})
	return &Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: d.Context().Name(), Digest: map[string]string{alg: hexd}}},
		PredicateType: PredicateType,
		Predicate:     p,
	}, nil
}
