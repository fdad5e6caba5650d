//go:build integration

package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/verify"
	"github.com/security-gate/security-gate/pkg/vsa"
)

// summaryWriter loads a cosign key pair written by newKeyPair (empty
// password) as the gate's summary signer.
func summaryWriter(t *testing.T, k keyPair, layouts ...vsa.Layout) *vsa.Writer {
	t.Helper()
	pem, err := os.ReadFile(k.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := vsa.LoadSigner(pem, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &vsa.Writer{Signer: s, Layouts: layouts, Now: time.Now,
		Options: func(ctx context.Context) []remote.Option { return []remote.Option{remote.WithContext(ctx)} }}
}

// writeSummary attaches a summary that img passed policy at verifiedAt.
func writeSummary(t *testing.T, w *vsa.Writer, img, about string, policy vsa.PolicyRef, verifiedAt time.Time) {
	t.Helper()
	st, err := vsa.Build(about, policy, "", "interop", verifiedAt, []vsa.Input{{URI: img, Digest: "sha256:" + strings.Repeat("0", 64)}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Attach(context.Background(), d, st); err != nil {
		t.Fatal(err)
	}
}

// predicateOf decodes the predicate of the first attestation in the JSON
// lines `cosign verify-attestation` prints (DSSE envelopes).
func predicateOf(t *testing.T, out string) (string, vsa.Predicate) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(line), &env) != nil || env.Payload == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var st vsa.Statement
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		return st.PredicateType, st.Predicate
	}
	t.Fatalf("no attestation in the output:\n%s", out)
	return "", vsa.Predicate{}
}

// TestSummaryVerifiesWithCosign: the summary the gate writes verifies with
// the real cosign v2 and v3 CLIs (verify-attestation --type
// https://slsa.dev/verification_summary/v1) in both layouts: the classic
// .att tag and the Sigstore bundle referrer (also in the fallback tag of a
// registry without the referrers API); another key does not verify it.
func TestSummaryVerifiesWithCosign(t *testing.T) {
	dir := t.TempDir()
	gateKey, other := newKeyPair(t, dir, "gate"), newKeyPair(t, dir, "other")
	pub, otherPub := writeFile(t, dir, "gate.pub", []byte(gateKey.pub)), writeFile(t, dir, "other.pub", []byte(other.pub))
	_, tr := offlineSigning(t, dir)
	policy := vsa.PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build", Digest: "sha256:" + strings.Repeat("ab", 32)}
	for i, tt := range []struct {
		name      string
		cli       string
		layout    vsa.Layout
		referrers bool
		args      []string
	}{
		// --trusted-root (an empty one: the key is the trust) keeps the
		// CLIs from fetching the public root; the summary has no log entry.
		{"v2, classic .att tag", "cosign2", vsa.LayoutClassic, true, []string{"--insecure-ignore-tlog", "--trusted-root", tr}},
		{"v2, bundle referrer", "cosign2", vsa.LayoutBundle, true, []string{"--insecure-ignore-tlog", "--trusted-root", tr, "--new-bundle-format"}},
		{"v3, bundle referrer", "cosign3", vsa.LayoutBundle, true, []string{"--insecure-ignore-tlog", "--trusted-root", tr}},
		{"v3, bundle in the fallback tag", "cosign3", vsa.LayoutBundle, false, []string{"--insecure-ignore-tlog", "--trusted-root", tr}},
		{"v3, classic .att tag", "cosign3", vsa.LayoutClassic, true, []string{"--insecure-ignore-tlog", "--new-bundle-format=false"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cliFor(t, tt.cli)
			host := startRegistry(t, tt.referrers)
			img := pushImage(t, host, fmt.Sprintf("vsa%d/app", i))
			writeSummary(t, summaryWriter(t, gateKey, tt.layout), img, img, policy, time.Now())
			args := append([]string{"verify-attestation", "--key", pub, "--type", vsa.PredicateType}, tt.args...)
			out := c.run(t, append(args, img)...)
			pt, p := predicateOf(t, out)
			if pt != vsa.PredicateType || p.VerificationResult != "PASSED" || p.Policy.URI != policy.URI() ||
				p.Policy.Digest["sha256"] != strings.Repeat("ab", 32) || p.ResourceURI != img || len(p.VerifiedLevels) != 1 {
				t.Errorf("%s verified an unexpected summary: %s %+v", tt.cli, pt, p)
			}
			if out, err := c.try(append(append([]string{"verify-attestation", "--key", otherPub, "--type", vsa.PredicateType}, tt.args...), img)...); err == nil {
				t.Errorf("%s verified the summary with another key:\n%s", tt.cli, out)
			}
		})
	}
}

// TestAcceptSummaryFromTheGate: a promotion policy accepts a summary the
// gate signed for exactly this digest and a listed policy, within maxAge;
// one signed by another key, about another digest, for another policy or
// too old is not accepted, and the unsigned image then fails.
func TestAcceptSummaryFromTheGate(t *testing.T) {
	dir := t.TempDir()
	gateKey, other, signer := newKeyPair(t, dir, "gate"), newKeyPair(t, dir, "other"), newKeyPair(t, dir, "signer")
	build := vsa.PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}
	release := vsa.PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "release"}
	spec := &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{
			{Name: "signer", Key: &v1alpha1.KeyAuthority{Data: signer.pub}, IgnoreTlog: true},
			{Name: "gate", Key: &v1alpha1.KeyAuthority{Data: gateKey.pub}, IgnoreTlog: true},
		},
		Images: &v1alpha1.ImagePolicy{Authorities: []string{"signer"}, AcceptSummaries: &v1alpha1.AcceptSummariesPolicy{
			Authorities: []string{"gate"}, MaxAge: "1h", Policies: []v1alpha1.SummaryPolicyRef{{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}},
		}},
	}
	for _, referrers := range []bool{true, false} {
		host := startRegistry(t, referrers)
		for _, layout := range []vsa.Layout{vsa.LayoutClassic, vsa.LayoutBundle} {
			for i, tt := range []struct {
				name     string
				key      keyPair
				another  bool
				policy   vsa.PolicyRef
				age      time.Duration
				accepted bool
			}{
				{"the gate's, fresh", gateKey, false, build, time.Minute, true},
				{"signed by another key", other, false, build, time.Minute, false},
				{"for another digest", gateKey, true, build, time.Minute, false},
				{"for another policy", gateKey, false, release, time.Minute, false},
				{"older than maxAge", gateKey, false, build, 2 * time.Hour, false},
			} {
				t.Run(fmt.Sprintf("%s/referrers=%v/%s", layout, referrers, tt.name), func(t *testing.T) {
					img := pushImage(t, host, fmt.Sprintf("accept/%s/%d", layout, i))
					about := img
					if tt.another {
						about = pushImage(t, host, fmt.Sprintf("accept/%s/%d-other", layout, i))
					}
					writeSummary(t, summaryWriter(t, tt.key, layout), img, about, tt.policy, time.Now().Add(-tt.age))
					res, err := verifyWith(t, spec, img)
					if tt.accepted {
						expectPass(t, res, err)
						return
					}
					expectViolation(t, res, err, "is not signed", gate.CheckImageSignature)
				})
			}
		}
	}
}

// verifyWith runs our verifier on one digest with the wall clock.
func verifyWith(t *testing.T, spec *v1alpha1.SecurityGateSpec, digestRef string) (gate.ImageResult, error) {
	t.Helper()
	ctx := context.Background()
	spec = spec.DeepCopy()
	spec.SetDefaults(ctx)
	if fe := spec.Validate(ctx); fe != nil {
		t.Fatalf("test policy is invalid: %v", fe)
	}
	v, err := verify.New(spec, verify.Options{Keychain: authn.NewMultiKeychain(), Timeout: 20 * time.Second, Cache: verify.NewCache(64, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return v.VerifyImage(ctx, gate.ImageTarget{Ref: digestRef, Digest: digestRef})
}
