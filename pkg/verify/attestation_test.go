package verify

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

func vulnRule(maxAge string, vp *v1alpha1.VulnerabilityPolicy) v1alpha1.AttestationPolicy {
	return v1alpha1.AttestationPolicy{Name: "vulnerability-scan", Type: "vuln", MaxAge: maxAge, Vulnerabilities: vp}
}

func TestAttestations(t *testing.T) {
	w := newWorld(t, true)
	other := fixture.NewKey(t)
	fresh := testNow.Add(-2 * time.Hour)
	deny := &v1alpha1.VulnerabilityPolicy{Deny: []string{"critical", "HIGH"}}
	clean := fixture.TrivyVulnPredicate(t, fresh, fixture.Vuln{ID: "CVE-2024-1111", Severity: "LOW", FixedVersion: "1.2"})
	critical := fixture.TrivyVulnPredicate(t, fresh, fixture.Vuln{ID: "CVE-2024-0001", Severity: "CRITICAL", FixedVersion: "3.0.1"})

	signed := func(t *testing.T, repo string) name.Digest {
		d := w.image(t, repo)
		w.key.SignClassic(t, d)
		return d
	}
	tests := []struct {
		name       string
		setup      func(t *testing.T) name.Digest
		rule       v1alpha1.AttestationPolicy
		wantChecks []string
		wantText   string
		wantWarn   string
	}{{
		name: "classic vuln attestation, clean and fresh",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/clean")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, clean)
			return d
		},
		rule: vulnRule("24h", deny),
	}, {
		name: "bundle vuln attestation, clean and fresh",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/bundle")
			w.key.AttestBundle(t, d, fixture.CosignVulnPredicate, clean)
			return d
		},
		rule: vulnRule("24h", deny),
	}, {
		name:       "missing attestation (classic .att tag is MANIFEST_UNKNOWN)",
		setup:      func(t *testing.T) name.Digest { return signed(t, "att/missing") },
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "has no attestation of type vuln",
	}, {
		name: "attestation of another type only",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/othertype")
			w.key.AttestClassic(t, d, fixture.SLSAProvenance02, fixture.SLSAPredicate(t, fresh))
			return d
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "has no attestation of type vuln",
	}, {
		name: "attestation signed with the wrong key",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/wrongkey")
			other.AttestClassic(t, d, fixture.CosignVulnPredicate, clean)
			return d
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "verified against authority release",
	}, {
		name: "bundle attestation signed with the wrong key",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/wrongkeybundle")
			other.AttestBundle(t, d, fixture.CosignVulnPredicate, clean)
			return d
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "verified against authority release",
	}, {
		name: "attestation whose subject is another digest",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/subject")
			elsewhere := w.image(t, "att/elsewhere")
			w.key.AttestClassicStatement(t, d, fixture.Statement(t, elsewhere, fixture.CosignVulnPredicate, clean))
			return d
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "not sha256:",
	}, {
		name: "attestation copied from another image's .att tag",
		setup: func(t *testing.T) name.Digest {
			a := signed(t, "att/copysrc")
			w.key.AttestClassic(t, a, fixture.CosignVulnPredicate, clean)
			c := signed(t, "att/copysrc")
			fixture.CopyTag(t, fixture.AttTag(a), fixture.AttTag(c))
			return c
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "not sha256:",
	}, {
		name: "stale scan",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/stale")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(-48*time.Hour)))
			return d
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "older than maxAge 24h",
	}, {
		name: "newest of several scans counts",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/several")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(-48*time.Hour)))
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, clean)
			return d
		},
		rule: vulnRule("24h", deny),
	}, {
		name: "unknown predicate shape",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/shape")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, []byte(`{"report":{"count":0}}`))
			return d
		},
		rule:       vulnRule("", deny),
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "unparseable",
	}, {
		name: "denied severity",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/critical")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, critical)
			return d
		},
		rule:       vulnRule("24h", deny),
		wantChecks: []string{gate.CheckVulnerabilities},
		wantText:   "CVE-2024-0001",
	}, {
		name: "denied severity under a live exception",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/excepted")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, critical)
			return d
		},
		rule: vulnRule("24h", &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, Exceptions: []v1alpha1.VulnerabilityException{
			{ID: "CVE-2024-0001", Expires: "2027-01-31", Reason: "not reachable"}}}),
	}, {
		name: "expired exception",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/expired")
			w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, critical)
			return d
		},
		rule: vulnRule("24h", &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, Exceptions: []v1alpha1.VulnerabilityException{
			{ID: "CVE-2024-0001", Expires: "2026-01-31", Reason: "not reachable"}}}),
		wantChecks: []string{gate.CheckVulnerabilities},
		wantText:   "CVE-2024-0001",
		wantWarn:   "CVE-2024-0001",
	}, {
		name: "slsa provenance",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/slsa")
			w.key.AttestClassic(t, d, fixture.SLSAProvenance02, fixture.SLSAPredicate(t, fresh))
			return d
		},
		rule: v1alpha1.AttestationPolicy{Name: "provenance", Type: "slsaprovenance", MaxAge: "24h"},
	}, {
		name: "slsa provenance without builder",
		setup: func(t *testing.T) name.Digest {
			d := signed(t, "att/slsabad")
			w.key.AttestClassic(t, d, fixture.SLSAProvenance02, []byte(`{"buildType":"x"}`))
			return d
		},
		rule:       v1alpha1.AttestationPolicy{Name: "provenance", Type: "slsaprovenance"},
		wantChecks: []string{gate.CheckAttestation},
		wantText:   "builder.id missing",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.setup(t)
			spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
			spec.Attestations = []v1alpha1.AttestationPolicy{tc.rule}
			v := newTestVerifier(t, spec, testOpts{})
			res, err := verifyImage(t, v, d)
			for _, f := range res.Findings {
				t.Logf("%s %s: %s", f.Severity, f.Check, f.Message)
			}
			expect(t, res, err, tc.wantChecks, tc.wantText)
			if tc.wantWarn != "" {
				found := false
				for _, f := range res.Findings {
					if f.Severity == gate.SeverityWarning && contains(f.Message, tc.wantWarn) {
						found = true
					}
				}
				if !found {
					t.Fatalf("no warning mentioning %q in %+v", tc.wantWarn, res.Findings)
				}
			}
		})
	}
}
