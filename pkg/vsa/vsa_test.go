package vsa

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/fixture"
)

var (
	at          = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	buildPolicy = PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build", Digest: "sha256:" + strings.Repeat("ab", 32)}
)

// newSigner makes a cosign key pair (encrypted with password) and loads it.
func newSigner(t *testing.T, password string) (*Signer, []byte) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(kb.PrivateBytes, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicPEM != string(kb.PublicBytes) {
		t.Fatalf("public key %q, cosign wrote %q", s.PublicPEM, kb.PublicBytes)
	}
	return s, kb.PrivateBytes
}

func TestLoadSigner(t *testing.T) {
	_, encrypted := newSigner(t, "s3cret")
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		key, pass []byte
		want      string
	}{
		{"cosign key, right password", encrypted, []byte("s3cret"), ""},
		{"cosign key, wrong password", encrypted, []byte("guess"), "is the password right?"},
		{"PKCS #8 key", priv, nil, ""},
		{"a public key", []byte(fixture.NewKey(t).PublicPEM), nil, `PEM type "PUBLIC KEY" is not a private key`},
		{"not PEM", []byte("ssh-ed25519 AAAA"), nil, "not a PEM private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSigner(tt.key, tt.pass)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("LoadSigner: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("LoadSigner: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPolicyURIRoundTrip(t *testing.T) {
	for _, p := range []PolicyRef{
		{Kind: v1alpha1.KindClusterSecurityGate, Name: "strict"},
		{Kind: v1alpha1.KindSecurityGate, Namespace: "ci", Name: "build.v2"},
		{Kind: v1alpha1.KindSecurityGate, Name: "local"},
	} {
		got, err := ParsePolicyURI(p.URI())
		if err != nil || got != p {
			t.Errorf("%s: URI %s parses to %+v, %v", p, p.URI(), got, err)
		}
	}
	for _, bad := range []string{
		"https://example.com/clustersecuritygates/x",
		policyURIBase + "namespaces/ci/clustersecuritygates/x",
		policyURIBase + "pipelines/x",
		policyURIBase + "clustersecuritygates/",
		policyURIBase + "a/b/c",
	} {
		if p, err := ParsePolicyURI(bad); err == nil {
			t.Errorf("%s parsed as %+v", bad, p)
		}
	}
}

// summary is a VSA predicate for digest with the given changes applied.
func summary(t *testing.T, digestRef string, change func(*Predicate)) ([]string, []byte) {
	t.Helper()
	st, err := Build(digestRef, buildPolicy, "", "v1.2.3", at, []Input{{URI: "r@sha256:1", Digest: "sha256:" + strings.Repeat("cd", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(&st.Predicate)
	}
	b, err := json.Marshal(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, s := range st.Subject {
		subjects = append(subjects, "sha256:"+s.Digest["sha256"])
	}
	return subjects, b
}

func TestAccept(t *testing.T) {
	const (
		digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		other  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	)
	ref := "registry.example.com/app@" + digest
	policy := func(refs ...v1alpha1.SummaryPolicyRef) *v1alpha1.AcceptSummariesPolicy {
		if refs == nil {
			refs = []v1alpha1.SummaryPolicyRef{{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}}
		}
		return &v1alpha1.AcceptSummariesPolicy{Authorities: []string{"gate"}, MaxAge: "24h", Policies: refs}
	}
	for _, tt := range []struct {
		name      string
		digestRef string
		change    func(*Predicate)
		policy    *v1alpha1.AcceptSummariesPolicy
		now       time.Time
		want      string // "" accepts
	}{
		{"fresh, this digest, a listed policy", ref, nil, policy(), at.Add(time.Hour), ""},
		{"promoted to another repository", ref, func(p *Predicate) { p.ResourceURI = "prod.example.com/app@" + digest }, policy(), at.Add(time.Hour), ""},
		{"pinned to its spec digest", ref, nil, policy(v1alpha1.SummaryPolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build", Digest: buildPolicy.Digest}), at, ""},
		{"for another digest", "registry.example.com/app@" + other, nil, policy(), at, "it is about " + other + ", not " + digest},
		{"resourceUri of another digest", ref, func(p *Predicate) { p.ResourceURI = "registry.example.com/app@" + other }, policy(), at, "resourceUri registry.example.com/app@" + other + " names"},
		{"for another policy", ref, nil, policy(v1alpha1.SummaryPolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "release"}), at, "it is for policy ClusterSecurityGate/build"},
		{"a namespaced policy of the same name", ref, nil, policy(v1alpha1.SummaryPolicyRef{Kind: v1alpha1.KindSecurityGate, Name: "build", Namespace: "ci"}), at, "does not list"},
		{"another spec of the policy", ref, nil, policy(v1alpha1.SummaryPolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build", Digest: "sha256:" + strings.Repeat("ef", 32)}), at, "does not list"},
		{"older than maxAge", ref, nil, policy(), at.Add(24*time.Hour + time.Minute), "older than maxAge 24h"},
		{"from the future", ref, nil, policy(), at.Add(-ClockSkew - time.Minute), "in the future"},
		{"within the clock skew", ref, nil, policy(), at.Add(-ClockSkew + time.Minute), ""},
		{"without timeVerified", ref, func(p *Predicate) { p.TimeVerified = nil }, policy(), at, "does not say when it was verified"},
		{"FAILED", ref, func(p *Predicate) { p.VerificationResult = "FAILED" }, policy(), at, `verificationResult is "FAILED"`},
		{"without verifier", ref, func(p *Predicate) { p.Verifier.ID = "" }, policy(), at, "verifier.id is missing"},
		{"a foreign policy URI", ref, func(p *Predicate) { p.Policy.URI = "https://example.com/policy" }, policy(), at, "is not a security-gate policy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			subjects, pred := summary(t, tt.digestRef, tt.change)
			a, err := Accept(PredicateType, subjects, pred, digest, tt.policy, tt.now)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("not accepted: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted %+v, want %q", a, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("%v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Accept("https://slsa.dev/provenance/v1", []string{digest}, []byte(`{}`), digest, policy(), at); err == nil {
		t.Error("accepted a provenance as a summary")
	}
}

// verifiedSummaries counts the summaries the cosign library verifies with
// s's key, in the classic or the bundle layout.
func verifiedSummaries(t *testing.T, s *Signer, d name.Digest, bundles bool) int {
	t.Helper()
	pub, err := s.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	co := &cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true, Offline: true, ClaimVerifier: cosign.IntotoSubjectClaimVerifier}
	if bundles {
		co.NewBundleFormat = true
		co.TrustedMaterial = &root.BaseTrustedMaterial{}
		co.ClaimVerifier = nil
	}
	atts, _, err := cosign.VerifyImageAttestations(context.Background(), d, co)
	if err != nil {
		t.Fatalf("verifying the summaries of %s: %v", d, err)
	}
	n := 0
	for _, a := range atts {
		if isSummary(t, a) {
			n++
		}
	}
	return n
}

func isSummary(t *testing.T, a oci.Signature) bool {
	p, err := a.Payload()
	if err != nil {
		t.Fatal(err)
	}
	pt, _, err := statementOf(p)
	return err == nil && pt == PredicateType
}

func writer(s *Signer, layouts ...Layout) *Writer {
	return &Writer{Signer: s, Layouts: layouts, Now: func() time.Time { return at },
		Options: func(ctx context.Context) []remote.Option { return []remote.Option{remote.WithContext(ctx)} }}
}

// TestAttachReplacesOwnSummaries: a new summary of the same key and policy
// replaces the earlier one in both layouts (so passes do not pile up), and
// never one of another key or another policy.
func TestAttachReplacesOwnSummaries(t *testing.T) {
	ctx := context.Background()
	me, _ := newSigner(t, "")
	other, _ := newSigner(t, "")
	for _, referrers := range []bool{true, false} {
		reg := fixture.NewRegistry(t, referrers)
		for _, l := range []Layout{LayoutClassic, LayoutBundle} {
			t.Run(string(l)+map[bool]string{true: " referrers API", false: " fallback tag"}[referrers], func(t *testing.T) {
				d := fixture.PushRandomImage(t, reg.Repo("app/"+string(l)+":v1"))
				st, err := Build(d.String(), buildPolicy, "", "test", at, nil)
				if err != nil {
					t.Fatal(err)
				}
				release := buildPolicy
				release.Name = "release"
				st2, err := Build(d.String(), release, "", "test", at, nil)
				if err != nil {
					t.Fatal(err)
				}
				steps := []struct {
					w        *Writer
					st       *Statement
					want     int // summaries on the image afterwards
					replaced int
				}{
					{writer(me, l), st, 1, 0},
					{writer(me, l), st, 1, 1},
					{writer(me, l), st, 1, 1},
					{writer(other, l), st, 2, 0},
					{writer(me, l), st2, 3, 0},
					{writer(me, l), st, 3, 1},
				}
				for i, s := range steps {
					ws, err := s.w.Attach(ctx, d, s.st)
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if len(ws) != 1 || ws[0].Replaced != s.replaced || len(ws[0].Left) > 0 {
						t.Errorf("step %d: wrote %+v, want %d replaced", i, ws, s.replaced)
					}
					if got := countSummaries(t, d, l); got != s.want {
						t.Errorf("step %d: %d summaries attached, want %d", i, got, s.want)
					}
				}
				if n := verifiedSummaries(t, me, d, l == LayoutBundle); n != 2 {
					t.Errorf("cosign verifies %d summaries of my key, want 2 (two policies)", n)
				}
			})
		}
	}
}

// countSummaries counts VSA layers of the .att tag or VSA referrers.
func countSummaries(t *testing.T, d name.Digest, l Layout) int {
	t.Helper()
	if l == LayoutClassic {
		se, err := ociremote.SignedEntity(d)
		if err != nil {
			t.Fatal(err)
		}
		atts, err := se.Attestations()
		if err != nil {
			t.Fatal(err)
		}
		list, err := atts.Get()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range list {
			if isSummary(t, a) {
				n++
			}
		}
		return n
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range im.Manifests {
		if m.Annotations["dev.sigstore.bundle.predicateType"] == PredicateType {
			if _, err := remote.Get(d.Context().Digest(m.Digest.String())); err != nil {
				t.Errorf("the referrers list names %s, which cannot be read: %v", m.Digest, err)
			}
			n++
		}
	}
	return n
}
