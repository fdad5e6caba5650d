package verify

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestEveryAttestationCounts: every verified attestation of a digest, in
// both layouts (classic .att tag; Sigstore bundles through the referrers API
// and through the fallback tag), is judged by one rule: each one from the
// future (beyond ClockSkew) is a violation; maxAge is met by the newest that
// is not; every scan not older than maxAge is judged, and a denied finding
// in any fails; a verified attestation whose predicate cannot be read is a
// violation beside any number of good ones. Real keys and signatures, a real
// registry on loopback.
func TestEveryAttestationCounts(t *testing.T) {
	other := fixture.NewKey(t)
	deny := &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}}
	scan := func(t *testing.T, finished time.Time, vulns ...fixture.Vuln) []byte {
		return fixture.TrivyVulnPredicate(t, finished, vulns...)
	}
	critical := fixture.Vuln{ID: "CVE-2026-0001", Severity: "CRITICAL", FixedVersion: "1.0.1"}
	low := fixture.Vuln{ID: "CVE-2026-0002", Severity: "LOW", FixedVersion: "1.0.1"}
	// A finding with no severity word, only a CVSS v3.1 vector scoring 9.8.
	cvssOnly := fixture.Vuln{ID: "CVE-2026-0003", FixedVersion: "2.0", CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
	unreadable := []byte(`{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.58.0","result":"not a report"}}`)
	h := func(d time.Duration) time.Time { return testNow.Add(d) }

	type attach func(t *testing.T, s *fixture.Signer, d name.Digest, predicate []byte)
	classic := func(t *testing.T, s *fixture.Signer, d name.Digest, p []byte) {
		s.AttestClassic(t, d, fixture.CosignVulnPredicate, p)
	}
	bundle := func(t *testing.T, s *fixture.Signer, d name.Digest, p []byte) {
		s.AttestBundle(t, d, fixture.CosignVulnPredicate, p)
	}
	type att struct {
		how       attach
		predicate func(t *testing.T) []byte
		// signer is nil for the policy's key.
		signer *fixture.Signer
	}
	tests := []struct {
		name       string
		atts       []att
		maxAge     string
		wantChecks []string
		wantText   string
	}{{
		name: "a clean classic scan does not hide a newer bundle scan with a Critical finding",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-3*time.Hour), low) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), critical) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckVulnerabilities}, wantText: "CVE-2026-0001 (CRITICAL)",
	}, {
		name: "a newer clean classic scan does not hide an older bundle scan within maxAge",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-5*time.Hour), critical) }},
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckVulnerabilities}, wantText: "2 verified scans judged together",
	}, {
		name: "classic layout: every scan within maxAge is judged, not only the newest",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-5*time.Hour), critical) }},
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckVulnerabilities}, wantText: "CVE-2026-0001",
	}, {
		name: "bundle layout: every scan within maxAge is judged, not only the newest",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-5*time.Hour), critical) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckVulnerabilities}, wantText: "CVE-2026-0001",
	}, {
		name: "without maxAge every scan is judged",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-500*time.Hour), critical) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		wantChecks: []string{gate.CheckVulnerabilities}, wantText: "CVE-2026-0001",
	}, {
		name: "a scan older than maxAge is superseded by a fresh one (both layouts)",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-48*time.Hour), critical) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		maxAge: "24h",
	}, {
		name: "maxAge is met by the newest scan, in either layout",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-48*time.Hour), low) }},
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-2*time.Hour), low) }},
		},
		maxAge: "24h",
	}, {
		name: "all scans older than maxAge",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-72*time.Hour), low) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-48*time.Hour), low) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckAttestation}, wantText: "the newest of 2 verified attestations (bundle sha256:",
	}, {
		name: "a scan from the future is a violation",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(time.Hour), low) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckAttestation}, wantText: "beyond the 5m0s clock-skew allowance",
	}, {
		name: "a scan from the future is a violation without maxAge too",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(30*24*time.Hour), low) }},
		},
		wantChecks: []string{gate.CheckAttestation}, wantText: "is not fresh",
	}, {
		name: "a finish time within the clock-skew allowance counts as now",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(ClockSkew-time.Minute), low) }},
		},
		maxAge: "24h",
	}, {
		name: "a scan from the future never wins newest over a stale one",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-48*time.Hour), low) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(365*24*time.Hour), low) }},
		},
		maxAge:     "24h",
		wantChecks: []string{gate.CheckAttestation, gate.CheckAttestation}, wantText: "older than maxAge 24h",
	}, {
		name: "a verified bundle attestation that cannot be read fails beside a clean classic one",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
			{how: bundle, predicate: func(t *testing.T) []byte { return unreadable }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckAttestation}, wantText: "verified against authority release, but its predicate is unparseable",
	}, {
		name: "a verified classic attestation that cannot be read fails beside a clean one",
		atts: []att{
			{how: classic, predicate: func(t *testing.T) []byte { return unreadable }},
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckAttestation}, wantText: "layer 1 of the .att tag",
	}, {
		name: "an unreadable attestation signed by a stranger does not count",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return unreadable }, signer: other},
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), low) }},
		},
		maxAge: "24h",
	}, {
		name: "a Critical scan signed by a stranger does not count",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), critical) }, signer: other},
			{how: classic, predicate: func(t *testing.T) []byte { return scan(t, h(-2*time.Hour), low) }},
		},
		maxAge: "24h",
	}, {
		name: "a finding with only a CVSS vector is rated by it",
		atts: []att{
			{how: bundle, predicate: func(t *testing.T) []byte { return scan(t, h(-time.Hour), cvssOnly) }},
		},
		maxAge: "24h", wantChecks: []string{gate.CheckVulnerabilities}, wantText: "CVE-2026-0003 (CRITICAL from CVSS 3.1 9.8)",
	}}
	for _, referrers := range []bool{true, false} {
		w := newWorld(t, referrers)
		for i, tc := range tests {
			t.Run(fmt.Sprintf("referrers API %t/%s", referrers, tc.name), func(t *testing.T) {
				d := w.image(t, fmt.Sprintf("several/case%d", i))
				w.key.SignClassic(t, d)
				for _, a := range tc.atts {
					s := a.signer
					if s == nil {
						s = w.key
					}
					a.how(t, s, d, a.predicate(t))
				}
				spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
				spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule(tc.maxAge, deny)}
				v := newTestVerifier(t, spec, testOpts{})
				res, err := verifyImage(t, v, d)
				for _, f := range res.Findings {
					t.Logf("%s %s: %s", f.Severity, f.Check, f.Message)
				}
				expect(t, res, err, tc.wantChecks, tc.wantText)
			})
		}
	}
}

// TestAttestationsFromCache: the cache keeps every verified attestation of
// the digest, so the rule holds from cache too, and the clock-dependent
// judgements (maxAge, the clock-skew allowance) are made on every run from
// the injected clock, without a registry request.
func TestAttestationsFromCache(t *testing.T) {
	w := newWorld(t, true)
	deny := &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}}
	d := w.image(t, "cached/mixed")
	w.key.SignClassic(t, d)
	w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(-2*time.Hour)))
	w.key.AttestBundle(t, d, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(-time.Hour),
		fixture.Vuln{ID: "CVE-2026-0100", Severity: "CRITICAL", FixedVersion: "1.1"}))
	future := w.image(t, "cached/future")
	w.key.SignClassic(t, future)
	w.key.AttestBundle(t, future, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(time.Hour)))

	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule("24h", deny)}
	cache := NewCache(100, time.Hour)
	at := func(now time.Time) *Verifier {
		v := newTestVerifier(t, spec, testOpts{cache: cache})
		v.now = func() time.Time { return now }
		return v
	}
	// First runs read the registry and fill the cache.
	res, err := verifyImage(t, at(testNow), d)
	expect(t, res, err, []string{gate.CheckVulnerabilities}, "CVE-2026-0100")
	res, err = verifyImage(t, at(testNow), future)
	expect(t, res, err, []string{gate.CheckAttestation}, "clock-skew allowance")

	// Later runs are answered from the cache alone, judged at their time.
	w.reg.ResetCounts()
	w.reg.SetHook(func(rw http.ResponseWriter, r *http.Request) bool {
		http.Error(rw, "down", http.StatusInternalServerError)
		return true
	})
	defer w.reg.SetHook(nil)
	for _, tc := range []struct {
		name       string
		d          name.Digest
		now        time.Time
		wantChecks []string
		wantText   string
	}{
		{"the bundle scan's finding still counts beside the clean classic scan", d, testNow, []string{gate.CheckVulnerabilities}, "2 verified scans judged together"},
		{"both scans stale two days later", d, testNow.Add(48 * time.Hour), []string{gate.CheckAttestation}, "older than maxAge 24h"},
		{"only the bundle scan within maxAge", d, testNow.Add(22*time.Hour + 30*time.Minute), []string{gate.CheckVulnerabilities}, "CVE-2026-0100"},
		{"the future scan is fine once its time has come", future, testNow.Add(time.Hour), nil, ""},
		{"and still from the future before", future, testNow.Add(-time.Hour), []string{gate.CheckAttestation}, "clock-skew allowance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := verifyImage(t, at(tc.now), tc.d)
			expect(t, res, err, tc.wantChecks, tc.wantText)
		})
	}
	if n := w.reg.Requests(); n != 0 {
		t.Fatalf("cached verifications made %d registry requests: %v", n, w.reg.PathCounts())
	}
	if s := cache.Stats(); s.Hits < 10 {
		t.Fatalf("cache stats %+v: the later runs did not hit the cache", s)
	}
}
