//go:build integration

package interop

import (
	"fmt"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// trivyScan is a cosign vuln predicate wrapping a Trivy report with the
// given findings (VulnerabilityID and Severity), finished at finished.
func trivyScan(finished time.Time, findings map[string]string) []byte {
	vulns := ""
	for id, sev := range findings {
		if vulns != "" {
			vulns += ","
		}
		vulns += fmt.Sprintf(`{"VulnerabilityID": %q, "PkgName": "openssl", "InstalledVersion": "3.0.0", "FixedVersion": "3.0.1", "Status": "fixed", "Severity": %q}`, id, sev)
	}
	return []byte(fmt.Sprintf(`{
  "invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
  "scanner": {
    "uri": "pkg:github/aquasecurity/trivy@v0.58.1", "version": "0.58.1",
    "db": {"uri": "", "version": ""},
    "result": {"SchemaVersion": 2, "ArtifactName": "app", "ArtifactType": "container_image",
      "Results": [{"Target": "app (debian 12)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [%s]}]}
  },
  "metadata": {"scanStartedOn": %[2]q, "scanFinishedOn": %[2]q}
}`, vulns, finished.UTC().Format(time.RFC3339)))
}

// TestScansInBothLayouts: one image scanned twice, once attested by cosign
// v2 (classic .att tag) and once by cosign v3 (a Sigstore bundle, as a
// referrer or in the fallback tag): every verified scan counts, so a clean
// scan in one layout never hides a Critical finding in the other.
func TestScansInBothLayouts(t *testing.T) {
	dir := t.TempDir()
	k := newKeyPair(t, dir, "k")
	sc, tr := offlineSigning(t, dir)
	now := time.Now()
	clean := writeFile(t, dir, "clean.json", trivyScan(now.Add(-time.Minute), map[string]string{"CVE-2026-1000": "LOW"}))
	critical := writeFile(t, dir, "critical.json", trivyScan(now.Add(-2*time.Minute), map[string]string{"CVE-2026-1111": "CRITICAL"}))
	spec := func() *v1alpha1.SecurityGateSpec {
		a := keyAuthority(k.pub)
		a.Name = "signer"
		return &v1alpha1.SecurityGateSpec{
			Authorities: []v1alpha1.Authority{a},
			Images:      &v1alpha1.ImagePolicy{Authorities: []string{"signer"}},
			Attestations: []v1alpha1.AttestationPolicy{{Name: "scan", Type: "vuln", MaxAge: "1h",
				Vulnerabilities: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}}}},
		}
	}
	v2 := []string{"--tlog-upload=false"}
	v3 := []string{"--signing-config", sc, "--trusted-root", tr}
	for i, tc := range []struct {
		name            string
		referrers       bool
		classic, bundle string // predicate files
		wantCritical    bool
	}{
		{name: "clean classic, Critical bundle referrer", referrers: true, classic: clean, bundle: critical, wantCritical: true},
		{name: "clean classic, Critical bundle in the fallback tag", referrers: false, classic: clean, bundle: critical, wantCritical: true},
		{name: "Critical classic, clean bundle referrer", referrers: true, classic: critical, bundle: clean, wantCritical: true},
		{name: "clean in both layouts", referrers: true, classic: clean, bundle: clean},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := startRegistry(t, tc.referrers)
			img := pushImage(t, host, fmt.Sprintf("both%d/app", i))
			c2, c3 := cliFor(t, "cosign2"), cliFor(t, "cosign3")
			c2.run(t, append([]string{"sign", "--key", k.keyPath}, append(v2, img)...)...)
			c2.run(t, append([]string{"attest", "--key", k.keyPath, "--type", "vuln", "--predicate", tc.classic}, append(v2, img)...)...)
			c3.run(t, append([]string{"attest", "--key", k.keyPath, "--type", "vuln", "--predicate", tc.bundle}, append(v3, img)...)...)
			res, err := verifyImage(t, spec(), img)
			if tc.wantCritical {
				expectViolation(t, res, err, "CVE-2026-1111 (CRITICAL)", gate.CheckVulnerabilities)
				return
			}
			expectPass(t, res, err)
		})
	}
}
