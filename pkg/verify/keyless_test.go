package verify

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

const (
	testIssuer   = "https://issuer.example.com"
	testIdentity = "builder@example.com"
)

// keylessAuthority trusts identity k under trustedRoot, requiring a
// transparency-log proof (the test CA has no CT log entries, so no SCTs).
func keylessAuthority(k v1alpha1.KeylessAuthority, trustedRoot string) v1alpha1.Authority {
	k.TrustedRoot = &v1alpha1.TrustedRoot{Data: trustedRoot}
	return v1alpha1.Authority{Name: "ci", Keyless: &k, IgnoreSCT: true}
}

func TestImageSignatureKeyless(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	otherCA := fixture.NewCA(t)
	signer := ca.Signer(t, testIdentity, testIssuer)
	rogue := otherCA.Signer(t, testIdentity, testIssuer)

	classic := fixture.PushRandomImage(t, reg.Repo("app/classic")+":1")
	signer.SignClassic(t, classic)
	bundled := fixture.PushRandomImage(t, reg.Repo("app/bundled")+":1")
	signer.SignBundle(t, bundled)
	rogueSigned := fixture.PushRandomImage(t, reg.Repo("app/rogue")+":1")
	rogue.SignClassic(t, rogueSigned)
	rogueBundled := fixture.PushRandomImage(t, reg.Repo("app/roguebundle")+":1")
	rogue.SignBundle(t, rogueBundled)

	exact := v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}
	tests := []struct {
		name       string
		id         v1alpha1.KeylessAuthority
		image      string
		wantChecks []string
		wantText   string
	}{
		{name: "classic, exact identity", id: exact, image: classic.String()},
		{name: "bundle, exact identity", id: exact, image: bundled.String()},
		{name: "classic, regexps", id: v1alpha1.KeylessAuthority{IssuerRegExp: `https://issuer\.example\.(com|org)`, SubjectRegExp: `.+@example\.com`}, image: classic.String()},
		{name: "classic, wrong subject", id: v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: "someone@example.com"},
			image: classic.String(), wantChecks: []string{gate.CheckImageSignature}},
		{name: "classic, wrong issuer", id: v1alpha1.KeylessAuthority{Issuer: "https://other.example.com", Subject: testIdentity},
			image: classic.String(), wantChecks: []string{gate.CheckImageSignature}},
		{name: "classic, subject regexp matches only part", id: v1alpha1.KeylessAuthority{Issuer: testIssuer, SubjectRegExp: `builder@example`},
			image: classic.String(), wantChecks: []string{gate.CheckImageSignature}},
		{name: "bundle, issuer regexp matches only part", id: v1alpha1.KeylessAuthority{IssuerRegExp: `issuer\.example`, Subject: testIdentity},
			image: bundled.String(), wantChecks: []string{gate.CheckImageSignature}},
		{name: "classic, chain from another CA", id: exact, image: rogueSigned.String(),
			wantChecks: []string{gate.CheckImageSignature}, wantText: "authority ci"},
		{name: "bundle, chain from another CA", id: exact, image: rogueBundled.String(),
			wantChecks: []string{gate.CheckImageSignature}, wantText: "authority ci"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := imagePolicy(keylessAuthority(tc.id, ca.TrustedRootJSON))
			v := newTestVerifier(t, spec, testOpts{})
			res, err := verifyImage(t, v, mustDigest(t, tc.image))
			expect(t, res, err, tc.wantChecks, tc.wantText)
		})
	}
}

func TestKeylessWithoutTrustMaterialCannotDecide(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	d := fixture.PushRandomImage(t, reg.Repo("app/x")+":1")
	ca.Signer(t, testIdentity, testIssuer).SignClassic(t, d)
	spec := imagePolicy(v1alpha1.Authority{Name: "ci", Keyless: &v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}})
	v := newTestVerifier(t, spec, testOpts{})
	res, err := verifyImage(t, v, d)
	if err == nil {
		t.Fatalf("keyless without any trusted root decided: %+v", res)
	}
}
