package verify

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/vsa"
)

// gateKey is a summary signer (an unencrypted PKCS #8 key, fast to make).
func gateKey(t *testing.T) *vsa.Signer {
	t.Helper()
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	s, err := vsa.LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func attachSummary(t *testing.T, s *vsa.Signer, layout vsa.Layout, on name.Digest, about string, policy vsa.PolicyRef, at time.Time) {
	t.Helper()
	st, err := vsa.Build(about, policy, "", "test", at, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &vsa.Writer{Signer: s, Layouts: []vsa.Layout{layout}, Now: func() time.Time { return at },
		Options: func(ctx context.Context) []remote.Option { return []remote.Option{remote.WithContext(ctx)} }}
	if _, err := w.Attach(context.Background(), on, st); err != nil {
		t.Fatal(err)
	}
}

// TestAcceptSummaries: a fresh summary of a trusted gate for exactly this
// digest and a listed policy stands in for the image's signature and
// attestations; a summary signed by another key, for another digest, for
// another policy or older than maxAge does not, and the image is verified
// (and, unsigned, fails).
func TestAcceptSummaries(t *testing.T) {
	build := vsa.PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}
	release := vsa.PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "release"}
	for _, referrers := range []bool{true, false} {
		w := newWorld(t, referrers)
		gateSigner, otherGate := gateKey(t), gateKey(t)
		for _, layout := range []vsa.Layout{vsa.LayoutClassic, vsa.LayoutBundle} {
			for i, tt := range []struct {
				name     string
				signer   *vsa.Signer
				other    bool // the summary is about another digest
				policy   vsa.PolicyRef
				age      time.Duration
				accepted bool
				why      string
			}{
				{"fresh, trusted, this digest, listed policy", gateSigner, false, build, time.Hour, true, ""},
				{"signed by another key", otherGate, false, build, time.Hour, false, "signed by none of gate"},
				{"for another digest", gateSigner, true, build, time.Hour, false, "is about sha256:"},
				{"for another policy", gateSigner, false, release, time.Hour, false, "it is for policy ClusterSecurityGate/release"},
				{"older than maxAge", gateSigner, false, build, 25 * time.Hour, false, "older than maxAge 24h"},
			} {
				t.Run(fmt.Sprintf("%s/referrers=%v/%s", layout, referrers, tt.name), func(t *testing.T) {
					d := w.image(t, fmt.Sprintf("vsa/%s/%d", layout, i))
					about := d.String()
					if tt.other {
						about = w.image(t, fmt.Sprintf("vsa/%s/%d-other", layout, i)).String()
					}
					attachSummary(t, tt.signer, layout, d, about, tt.policy, testNow.Add(-tt.age))
					spec := imagePolicy(keyAuthority("signer", w.key.PublicPEM), keyAuthority("gate", gateSigner.PublicPEM))
					spec.Images.Authorities = []string{"signer"}
					spec.Images.AcceptSummaries = &v1alpha1.AcceptSummariesPolicy{Authorities: []string{"gate"}, MaxAge: "24h",
						Policies: []v1alpha1.SummaryPolicyRef{{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}}}
					res, err := verifyImage(t, newTestVerifier(t, spec, testOpts{}), d)
					if tt.accepted {
						expect(t, res, err, nil, "")
						if !strings.Contains(notesOf(res), "accepted the verification summary") || len(res.Evidence) != 1 {
							t.Errorf("accepted without saying so: notes %s, evidence %+v", notesOf(res), res.Evidence)
						}
						return
					}
					expect(t, res, err, []string{gate.CheckImageSignature}, "is not signed")
					if !strings.Contains(notesOf(res), tt.why) {
						t.Errorf("notes do not say why the summary was not accepted (%q):\n%s", tt.why, notesOf(res))
					}
				})
			}
		}
	}
}

// TestSummaryAgeIsJudgedOnEveryRun: a cached summary is judged again with
// the clock of each run.
func TestSummaryAgeIsJudgedOnEveryRun(t *testing.T) {
	w := newWorld(t, true)
	g := gateKey(t)
	d := w.image(t, "vsa/aging")
	attachSummary(t, g, vsa.LayoutClassic, d, d.String(), vsa.PolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}, testNow.Add(-23*time.Hour))
	spec := imagePolicy(keyAuthority("signer", w.key.PublicPEM), keyAuthority("gate", g.PublicPEM))
	spec.Images.Authorities = []string{"signer"}
	spec.Images.AcceptSummaries = &v1alpha1.AcceptSummariesPolicy{Authorities: []string{"gate"}, MaxAge: "24h",
		Policies: []v1alpha1.SummaryPolicyRef{{Kind: v1alpha1.KindClusterSecurityGate, Name: "build"}}}
	cache := NewCache(10, time.Hour)
	now := testNow
	c := newTestVerifier(t, spec, testOpts{cache: cache})
	c.now = func() time.Time { return now }
	res, err := verifyImage(t, c, d)
	expect(t, res, err, nil, "")
	now = testNow.Add(2 * time.Hour)
	res, err = verifyImage(t, c, d)
	expect(t, res, err, []string{gate.CheckImageSignature}, "is not signed")
	if s := cache.Stats(); s.Hits == 0 {
		t.Errorf("the second run did not use the cache (%+v): the test proves nothing", s)
	}

}
