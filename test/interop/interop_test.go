//go:build integration

package interop

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/verify"
)

// vulnPredicate is a cosign vuln predicate wrapping a Trivy report, as
// `trivy image --format cosign-vuln` writes it, finished now.
func vulnPredicate(now time.Time) []byte {
	return []byte(fmt.Sprintf(`{
  "invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
  "scanner": {
    "uri": "pkg:github/aquasecurity/trivy@v0.58.1",
    "version": "0.58.1",
    "db": {"uri": "", "version": ""},
    "result": {
      "SchemaVersion": 2,
      "ArtifactName": "app",
      "ArtifactType": "container_image",
      "Results": [{
        "Target": "usr/local/bin/app", "Class": "lang-pkgs", "Type": "gobinary",
        "Vulnerabilities": [
          {"VulnerabilityID": "CVE-2024-45337", "PkgName": "golang.org/x/crypto", "InstalledVersion": "v0.26.0", "FixedVersion": "0.31.0", "Status": "fixed", "Severity": "CRITICAL"},
          {"VulnerabilityID": "CVE-2024-24790", "PkgName": "stdlib", "InstalledVersion": "v1.21.3", "Status": "affected", "Severity": "HIGH"}
        ]
      }]
    }
  },
  "metadata": {"scanStartedOn": %[1]q, "scanFinishedOn": %[1]q}
}`, now.UTC().Format(time.RFC3339)))
}

// policy trusts one authority for images and a vuln attestation. strict
// denies HIGH too and drops the exception, so a real predicate must show up
// as a vulnerabilities violation.
func policy(a v1alpha1.Authority, strict bool) *v1alpha1.SecurityGateSpec {
	vp := &v1alpha1.VulnerabilityPolicy{
		Deny: []string{"CRITICAL"},
		Exceptions: []v1alpha1.VulnerabilityException{{
			ID: "CVE-2024-45337", Expires: time.Now().Add(48 * time.Hour).UTC().Format(time.DateOnly), Reason: "fixed in the next release",
		}},
	}
	if strict {
		vp = &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}}
	}
	a.Name = "signer"
	return &v1alpha1.SecurityGateSpec{
		Authorities:  []v1alpha1.Authority{a},
		Images:       &v1alpha1.ImagePolicy{Authorities: []string{"signer"}},
		Attestations: []v1alpha1.AttestationPolicy{{Name: "scan", Type: "vuln", MaxAge: "1h", Vulnerabilities: vp}},
	}
}

func keyAuthority(pub string) v1alpha1.Authority {
	return v1alpha1.Authority{Key: &v1alpha1.KeyAuthority{Data: pub}, IgnoreTlog: true}
}

// verifyImage runs our verifier, with a cache of its own, on one digest.
func verifyImage(t *testing.T, spec *v1alpha1.SecurityGateSpec, digestRef string) (gate.ImageResult, error) {
	t.Helper()
	ctx := context.Background()
	spec.SetDefaults(ctx)
	if fe := spec.Validate(ctx); fe != nil {
		t.Fatalf("test policy is invalid: %v", fe)
	}
	v, err := verify.New(spec, verify.Options{
		Keychain: authn.NewMultiKeychain(), // anonymous: nothing read from the environment
		Timeout:  20 * time.Second,
		Cache:    verify.NewCache(64, time.Minute),
	})
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	return v.VerifyImage(ctx, gate.ImageTarget{Ref: digestRef, Digest: digestRef})
}

func describe(res gate.ImageResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verified=%v", res.Verified)
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "\n  %s %s: %s", f.Severity, f.Check, f.Message)
	}
	return b.String()
}

func expectPass(t *testing.T, res gate.ImageResult, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("could not decide: %v", err)
	}
	bad := false
	for _, f := range res.Findings {
		bad = bad || f.Severity != gate.SeverityWarning
	}
	if !res.Verified || bad {
		t.Errorf("want pass, got %s", describe(res))
	}
	t.Log(describe(res))
}

// expectViolation wants a decided failure with a violation for every check
// in checks (and, when want is set, a message containing it).
func expectViolation(t *testing.T, res gate.ImageResult, err error, want string, checks ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("want a violation, could not decide: %v", err)
	}
	if res.Verified {
		t.Errorf("want verified=false, got %s", describe(res))
	}
	t.Log(describe(res))
	for _, c := range checks {
		found := false
		for _, f := range res.Findings {
			found = found || (f.Check == c && f.Severity == gate.SeverityViolation && strings.Contains(f.Message, want))
		}
		if !found {
			t.Errorf("want a %s violation mentioning %q, got %s", c, want, describe(res))
		}
	}
}

// layout is one way a cosign CLI stores signatures and attestations.
type layout struct {
	name      string
	cli       string // cosign2 or cosign3
	referrers bool   // registry with the referrers API
	// args are the flags added to sign and attest, besides --key.
	args func(sc, tr string) []string
	// tags are the suffixes of the sha256-<hex> tags the CLI must write
	// ("" is cosign v3's referrers fallback index); bundles says the
	// signature and attestation are referrers served by the registry API.
	tags    []string
	bundles bool
}

var layouts = []layout{
	{name: "v2 classic tags", cli: "cosign2", referrers: true, tags: []string{".sig", ".att"},
		args: func(_, _ string) []string { return []string{"--tlog-upload=false"} }},
	{name: "v3 bundles as referrers", cli: "cosign3", referrers: true, bundles: true,
		args: func(sc, tr string) []string { return []string{"--signing-config", sc, "--trusted-root", tr} }},
	{name: "v3 bundles, fallback tag without referrers API", cli: "cosign3", referrers: false, tags: []string{""},
		args: func(sc, tr string) []string { return []string{"--signing-config", sc, "--trusted-root", tr} }},
	{name: "v3 classic tags (new-bundle-format=false)", cli: "cosign3", referrers: true, tags: []string{".sig", ".att"},
		args: func(_, _ string) []string {
			return []string{"--use-signing-config=false", "--tlog-upload=false", "--new-bundle-format=false"}
		}},
}

// checkLayout asserts that the CLI stored what the layout says, so each case
// exercises the storage it is named after.
func checkLayout(t *testing.T, l layout, digestRef string) {
	t.Helper()
	d, err := name.NewDigest(digestRef)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(d.Context())
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(d.DigestStr(), ":", "-", 1)
	got := map[string]bool{}
	for _, tag := range tags {
		if s, ok := strings.CutPrefix(tag, base); ok {
			got[s] = true
		}
	}
	for _, s := range l.tags {
		if !got[s] {
			t.Errorf("%s wrote no tag %s%s (tags: %v)", l.cli, base, s, tags)
		}
	}
	if l.bundles {
		if len(got) != 0 {
			t.Errorf("%s wrote tags %v, want referrers only", l.cli, got)
		}
		idx, err := remote.Referrers(d)
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) < 2 {
			t.Errorf("want a signature and an attestation referrer, got %d", len(m.Manifests))
		}
	}
}

// cliFor returns the named CLI with a fresh HOME for this (sub)test.
func cliFor(t *testing.T, name string) *cosignCLI {
	return newCLI(t, name, strings.ToUpper(name))
}

func TestKeyLayouts(t *testing.T) {
	dir := t.TempDir()
	right, wrong := newKeyPair(t, dir, "right"), newKeyPair(t, dir, "wrong")
	sc, tr := offlineSigning(t, dir)
	pred := writeFile(t, dir, "vuln.json", vulnPredicate(time.Now()))
	hosts := map[bool]string{true: startRegistry(t, true), false: startRegistry(t, false)}

	for i, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			c, host := cliFor(t, l.cli), hosts[l.referrers]
			signed := pushImage(t, host, fmt.Sprintf("app%d/signed", i))
			unsigned := pushImage(t, host, fmt.Sprintf("app%d/unsigned", i))
			flags := l.args(sc, tr)
			c.run(t, append(append([]string{"sign", "--key", right.keyPath}, flags...), signed)...)
			c.run(t, append(append([]string{"attest", "--key", right.keyPath, "--type", "vuln", "--predicate", pred}, flags...), signed)...)
			checkLayout(t, l, signed)

			t.Run("right key passes", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyAuthority(right.pub), false), signed)
				expectPass(t, res, err)
			})
			t.Run("predicate is judged", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyAuthority(right.pub), true), signed)
				expectViolation(t, res, err, "CVE-2024-45337 (CRITICAL), CVE-2024-24790 (HIGH)", gate.CheckVulnerabilities)
			})
			t.Run("wrong key is a violation", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyAuthority(wrong.pub), false), signed)
				expectViolation(t, res, err, "", gate.CheckImageSignature, gate.CheckAttestation)
			})
			t.Run("unsigned image is a violation", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyAuthority(right.pub), false), unsigned)
				expectViolation(t, res, err, "", gate.CheckImageSignature, gate.CheckAttestation)
			})
		})
	}
}

func TestKeyless(t *testing.T) {
	const issuer, subject = "https://issuer.invalid", "builder@example.com"
	dir := t.TempDir()
	ca, otherCA := newCA(t, "local fulcio"), newCA(t, "other fulcio")
	id := ca.issue(t, dir, subject, issuer)
	sc, _ := offlineSigning(t, dir)
	// cosign v3 checks the leaf against the trusted root it signs with.
	caRoot := writeFile(t, dir, "ca-trusted-root.json", []byte(ca.trustedRoot(t)))
	pred := writeFile(t, dir, "vuln.json", vulnPredicate(time.Now()))
	host := startRegistry(t, true)

	keyless := func(root, subj string) v1alpha1.Authority {
		return v1alpha1.Authority{
			Keyless:    &v1alpha1.KeylessAuthority{Issuer: issuer, Subject: subj, TrustedRoot: &v1alpha1.TrustedRoot{Data: root}},
			IgnoreTlog: true, IgnoreSCT: true,
		}
	}
	cases := []struct {
		name, cli string
		flags     []string
	}{
		// cosign v2 takes the chain; v3 writes a bundle sigstore-go rejects
		// when given one, so it gets the leaf alone.
		{"v2 classic, certificate and chain", "cosign2", []string{"--certificate", id.certPath, "--certificate-chain", id.chain, "--tlog-upload=false"}},
		{"v3 bundle, certificate", "cosign3", []string{"--certificate", id.certPath, "--signing-config", sc, "--trusted-root", caRoot}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cliFor(t, tc.cli)
			img := pushImage(t, host, fmt.Sprintf("keyless%d/app", i))
			c.run(t, append(append([]string{"sign", "--key", id.keyPath}, tc.flags...), img)...)
			c.run(t, append(append([]string{"attest", "--key", id.keyPath, "--type", "vuln", "--predicate", pred}, tc.flags...), img)...)

			t.Run("identity and root match", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyless(ca.trustedRoot(t), subject), false), img)
				expectPass(t, res, err)
			})
			t.Run("other subject is a violation", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyless(ca.trustedRoot(t), "someone@example.com"), false), img)
				expectViolation(t, res, err, "", gate.CheckImageSignature, gate.CheckAttestation)
			})
			t.Run("chain to another root is a violation", func(t *testing.T) {
				res, err := verifyImage(t, policy(keyless(otherCA.trustedRoot(t), subject), false), img)
				expectViolation(t, res, err, "", gate.CheckImageSignature, gate.CheckAttestation)
			})
		})
	}
}

// TestCopiedClassicSignature copies cosign v2's .sig and .att tags of image A
// onto image B's tags in the same repository: B must not verify, since the
// signed payload names A's digest.
func TestCopiedClassicSignature(t *testing.T) {
	dir := t.TempDir()
	k := newKeyPair(t, dir, "k")
	pred := writeFile(t, dir, "vuln.json", vulnPredicate(time.Now()))
	host := startRegistry(t, true)
	c := cliFor(t, "cosign2")
	a := pushImage(t, host, "copy/a")
	c.run(t, "sign", "--key", k.keyPath, "--tlog-upload=false", a)
	c.run(t, "attest", "--key", k.keyPath, "--tlog-upload=false", "--type", "vuln", "--predicate", pred, a)
	b := pushImage(t, host, "copy/a") // same repository, different image
	if a == b {
		t.Fatal("random images collided")
	}
	for _, suffix := range []string{".sig", ".att"} {
		copyTag(t, classicTag(t, a, suffix), classicTag(t, b, suffix))
	}
	res, err := verifyImage(t, policy(keyAuthority(k.pub), false), a)
	expectPass(t, res, err)
	res, err = verifyImage(t, policy(keyAuthority(k.pub), false), b)
	expectViolation(t, res, err, "", gate.CheckImageSignature, gate.CheckAttestation)
}

// classicTag is cosign's tag for a digest: repo:sha256-<hex><suffix>.
func classicTag(t *testing.T, digestRef, suffix string) name.Tag {
	t.Helper()
	d, err := name.NewDigest(digestRef)
	if err != nil {
		t.Fatal(err)
	}
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
}

func copyTag(t *testing.T, from, to name.Tag) {
	t.Helper()
	desc, err := remote.Get(from)
	if err != nil {
		t.Fatalf("get %s: %v", from, err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(to, img); err != nil {
		t.Fatalf("write %s: %v", to, err)
	}
}
