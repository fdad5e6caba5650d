//go:build integration

package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// vexFor says, as the image's vendor, that vulnPredicate's two findings do
// not matter for img: CVE-2024-45337 is not_affected (the code is not on an
// execution path), CVE-2024-24790 is fixed (named by its pkg:oci purl).
func vexFor(img string) []byte {
	d, err := name.NewDigest(img)
	if err != nil {
		panic(err)
	}
	last := d.Context().RepositoryStr()[strings.LastIndex(d.Context().RepositoryStr(), "/")+1:]
	purl := "pkg:oci/" + last + "@" + strings.Replace(d.DigestStr(), ":", "%3A", 1) + "?repository_url=" + d.Context().Name()
	return []byte(fmt.Sprintf(`{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://vendor.example.com/vex/%[1]s",
  "author": "Vendor PSIRT <psirt@vendor.example.com>",
  "timestamp": %[2]q,
  "version": 1,
  "statements": [
    {"vulnerability": {"name": "CVE-2024-45337"}, "products": [{"@id": %[3]q}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
    {"vulnerability": {"name": "CVE-2024-24790"}, "products": [{"@id": %[4]q}], "status": "fixed"}
  ]
}`, d.DigestStr(), time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), d.DigestStr(), purl))
}

func vexSpec(signer, vendor string, vex *v1alpha1.VEXPolicy) *v1alpha1.SecurityGateSpec {
	return &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{
			{Name: "signer", Key: &v1alpha1.KeyAuthority{Data: signer}, IgnoreTlog: true},
			{Name: "vendor", Key: &v1alpha1.KeyAuthority{Data: vendor}, IgnoreTlog: true},
		},
		Images: &v1alpha1.ImagePolicy{Authorities: []string{"signer"}},
		Attestations: []v1alpha1.AttestationPolicy{{Name: "scan", Type: "vuln", MaxAge: "1h",
			Vulnerabilities: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}, VEX: vex}}},
	}
}

func notes(res gate.ImageResult) string {
	var b strings.Builder
	for _, n := range res.Notes {
		b.WriteString(n.Message + "\n")
	}
	return b.String()
}

// TestVEXFromCosignAttest: OpenVEX attached with `cosign attest --type
// openvex` by the real cosign v2 and v3 CLIs, in every layout they write,
// drops the findings it covers only when signed by a VEX authority of the
// policy; a dropped finding is noted, VEX from another signer or without
// vulnerabilities.vex changes nothing.
func TestVEXFromCosignAttest(t *testing.T) {
	dir := t.TempDir()
	signer, vendor := newKeyPair(t, dir, "signer"), newKeyPair(t, dir, "vendor")
	sc, tr := offlineSigning(t, dir)
	pred := writeFile(t, dir, "vuln.json", vulnPredicate(time.Now()))
	hosts := map[bool]string{true: startRegistry(t, true), false: startRegistry(t, false)}
	trusted := &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}}
	for i, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			c, host := cliFor(t, l.cli), hosts[l.referrers]
			flags := l.args(sc, tr)
			attest := func(k keyPair, img, typ, predicate string) {
				c.run(t, append(append([]string{"attest", "--key", k.keyPath, "--type", typ, "--predicate", predicate}, flags...), img)...)
			}
			img := pushImage(t, host, fmt.Sprintf("vex%d/app", i))
			c.run(t, append(append([]string{"sign", "--key", signer.keyPath}, flags...), img)...)
			attest(signer, img, "vuln", pred)
			byVendor := pushImage(t, host, fmt.Sprintf("vex%d/vendor", i))
			c.run(t, append(append([]string{"sign", "--key", signer.keyPath}, flags...), byVendor)...)
			attest(signer, byVendor, "vuln", pred)

			t.Run("no VEX: both findings deny", func(t *testing.T) {
				res, err := verifyWith(t, vexSpec(signer.pub, vendor.pub, trusted), img)
				expectViolation(t, res, err, "CVE-2024-45337 (CRITICAL), CVE-2024-24790 (HIGH)", gate.CheckVulnerabilities)
			})
			attest(signer, img, "openvex", writeFile(t, t.TempDir(), "vex.json", vexFor(img)))
			attest(vendor, byVendor, "openvex", writeFile(t, t.TempDir(), "vex.json", vexFor(byVendor)))
			t.Run("VEX of the vendor drops both, noted", func(t *testing.T) {
				res, err := verifyWith(t, vexSpec(signer.pub, vendor.pub, trusted), byVendor)
				expectPass(t, res, err)
				n := notes(res)
				for _, want := range []string{"CVE-2024-45337 (CRITICAL) dropped: VEX says not_affected (vulnerable_code_not_in_execute_path)", "CVE-2024-24790 (HIGH) dropped: VEX says fixed", "Vendor PSIRT", "signed by authority vendor"} {
					if !strings.Contains(n, want) {
						t.Errorf("notes lack %q:\n%s", want, n)
					}
				}
			})
			t.Run("VEX of another signer changes nothing", func(t *testing.T) {
				res, err := verifyWith(t, vexSpec(signer.pub, vendor.pub, trusted), img)
				expectViolation(t, res, err, "CVE-2024-45337 (CRITICAL), CVE-2024-24790 (HIGH)", gate.CheckVulnerabilities)
				if !strings.Contains(notes(res), "VEX was present") {
					t.Errorf("no note on the untrusted VEX:\n%s", notes(res))
				}
			})
			t.Run("without vulnerabilities.vex, VEX is not applied", func(t *testing.T) {
				res, err := verifyWith(t, vexSpec(signer.pub, vendor.pub, nil), byVendor)
				expectViolation(t, res, err, "CVE-2024-45337 (CRITICAL), CVE-2024-24790 (HIGH)", gate.CheckVulnerabilities)
				if !strings.Contains(notes(res), "vulnerabilities.vex is not set") {
					t.Errorf("no note on the VEX that was not trusted:\n%s", notes(res))
				}
			})
		})
	}
}

// TestVEXDocumentSignedWithCosign: a VEX document published as an OCI
// artifact and signed with `cosign sign` by the vendor applies when the
// policy names it by digest; signed by someone else, it is a violation.
func TestVEXDocumentSignedWithCosign(t *testing.T) {
	dir := t.TempDir()
	signer, vendor := newKeyPair(t, dir, "signer"), newKeyPair(t, dir, "vendor")
	pred := writeFile(t, dir, "vuln.json", vulnPredicate(time.Now()))
	host := startRegistry(t, true)
	c := cliFor(t, "cosign2")
	img := pushImage(t, host, "vexdoc/app")
	c.run(t, "sign", "--key", signer.keyPath, "--tlog-upload=false", img)
	c.run(t, "attest", "--key", signer.keyPath, "--tlog-upload=false", "--type", "vuln", "--predicate", pred, img)
	publish := func(repo string, k keyPair) string {
		a := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		a = mutate.ConfigMediaType(a, "application/vnd.oci.empty.v1+json")
		a, err := mutate.Append(a, mutate.Addendum{Layer: static.NewLayer(vexFor(img), "application/vnd.openvex+json")})
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(host + "/" + repo + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, a); err != nil {
			t.Fatal(err)
		}
		h, err := a.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ref := tag.Context().Digest(h.String()).String()
		c.run(t, "sign", "--key", k.keyPath, "--tlog-upload=false", ref)
		return ref
	}
	vendorDoc, signerDoc := publish("vexdoc/vendor", vendor), publish("vexdoc/signer", signer)
	res, err := verifyWith(t, vexSpec(signer.pub, vendor.pub, &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}, Documents: []string{vendorDoc}}), img)
	expectPass(t, res, err)
	if !strings.Contains(notes(res), vendorDoc) {
		t.Errorf("notes do not name the document %s:\n%s", vendorDoc, notes(res))
	}
	res, err = verifyWith(t, vexSpec(signer.pub, vendor.pub, &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}, Documents: []string{signerDoc}}), img)
	expectViolation(t, res, err, "is not trusted", gate.CheckVulnerabilities)
}
