package crd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// TestFieldValuesAgree feeds many values of the fields whose schema rule
// re-implements a Go check (patterns, CEL) to both validators and requires the
// same verdict, so the two cannot drift apart silently.
func TestFieldValuesAgree(t *testing.T) {
	fields := []struct {
		name     string
		template string // %s is the value, quoted for YAML
		values   []string
	}{{
		name:     "attestation type",
		template: signer + "  attestations: [{name: a, type: %s}]\n",
		values: []string{
			"vuln", "slsaprovenance", "slsaprovenance1", "Vuln", "sbom", "",
			"https://slsa.dev/provenance/v1", "http://x", "https://", "https:/x", "https:x",
			"urn:example:p", "cosign.sigstore.dev/attestation/vuln/v1", "example.com/p",
			"example.com", "example/p", "-bad.example.com/p", "a.b/c d", "EXAMPLE.COM/p",
			"example.com:443/p", "1.2.3.4/p",
		},
	}, {
		name:     "maxAge",
		template: signer + "  attestations: [{name: a, type: vuln, maxAge: %s}]\n",
		values:   []string{"168h", "1h30m", "90s", "1.5h", "250ms", "0", "0s", "-1h", "7d", "1 h", "h", "1e3s"},
	}, {
		name:     "exception expires",
		template: signer + "  attestations: [{name: a, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, reason: r, expires: %s}]}}]\n",
		values: []string{
			"2027-01-31", "2027-02-28", "2028-02-29", "2027-02-29", "2027-13-01", "27-01-31",
			"2027-01-31T10:00:00Z", "2027-01-31T10:00:00.5Z", "2027-01-31T10:00:00+02:00",
			"2027-01-31T10:00:00", "2027-01-31 10:00:00Z", "2027-01-31t10:00:00z", "tomorrow",
		},
	}, {
		name:     "severity",
		template: signer + "  attestations: [{name: a, type: vuln, vulnerabilities: {deny: [%s]}}]\n",
		values:   []string{"CRITICAL", "critical", "High", " low ", "NEGLIGIBLE", "unknown", "SEVERE", "", "CRIT"},
	}, {
		name:     "exclude glob",
		template: "  images: {exclude: [%s]}\n",
		values: []string{
			"registry.example.com/tools/*", "*", "reg/app?", "localhost:5000/x/*", "reg/[a-c]x",
			"reg/app:v1", "app:v1", "reg/app@sha256:*", "", "reg/*/x",
		},
	}, {
		name:     "namespace",
		template: "  namespaces: {deny: [%s]}\n",
		values:   []string{"default", "kube-system", "a", "Default", "a_b", "-a", "a-", strings.Repeat("a", 63), strings.Repeat("a", 64), ""},
	}, {
		name:     "subjectRegExp",
		template: "  authorities: [{name: a, keyless: {issuer: i, subjectRegExp: %s}}]\n",
		values:   []string{`^https://github\.com/.+$`, ".*", "a|b", "(", "a**", `\p{Greek}`, "[z-a]", `\8`},
	}}
	c := loadCRD(t, crdFiles[v1alpha1.KindClusterSecurityGate])
	for _, f := range fields {
		accepted, rejected := 0, 0
		for _, v := range f.values {
			t.Run(fmt.Sprintf("%s=%q", f.name, v), func(t *testing.T) {
				doc := document(t, v1alpha1.KindClusterSecurityGate, fmt.Sprintf(f.template, fmt.Sprintf("%q", v)))
				_, goErr := v1alpha1.ParsePolicy(doc)
				crdErrs := c.validate(toMap(t, doc))
				if (goErr == nil) != (len(crdErrs) == 0) {
					t.Errorf("disagreement on %q:\n  Go:  %v\n  CRD: %v", v, goErr, crdErrs.ToAggregate())
				}
				if goErr == nil {
					accepted++
				} else {
					rejected++
				}
			})
		}
		// Each table must exercise both verdicts, or it proves nothing.
		if accepted == 0 || rejected == 0 {
			t.Errorf("%s: %d values accepted, %d rejected; want both", f.name, accepted, rejected)
		}
	}
}
