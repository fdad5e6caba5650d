package verify

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

// layouts signs d with s in one of cosign's two layouts.
var layouts = []struct {
	name string
	sign func(t *testing.T, s *fixture.Signer, d name.Digest)
}{
	{"classic", func(t *testing.T, s *fixture.Signer, d name.Digest) { s.SignClassic(t, d) }},
	{"bundle", func(t *testing.T, s *fixture.Signer, d name.Digest) { s.SignBundle(t, d) }},
}

// The time of signing comes from the transparency log and from RFC 3161
// timestamps, in both layouts; a keyless certificate must be valid then,
// and valid now only when nothing else says when it signed. Leaf
// certificates live ten minutes, as Fulcio's do.
func TestKeylessTimeOfSigning(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	now := time.Now()
	fresh := func(t *testing.T, e fixture.Evidence) *fixture.Signer {
		s := ca.Signer(t, testIdentity, testIssuer)
		at := s.Evidence.At
		s.Evidence = e
		if s.Evidence.At.IsZero() {
			s.Evidence.At = at
		}
		return s
	}
	// expired signed half an hour ago, while its certificate was valid.
	expired := func(t *testing.T, e fixture.Evidence) *fixture.Signer {
		s := ca.SignerValidFrom(t, testIdentity, testIssuer, now.Add(-30*time.Minute))
		at := s.Evidence.At
		s.Evidence = e
		if s.Evidence.At.IsZero() {
			s.Evidence.At = at
		}
		return s
	}
	type auth struct{ ignoreTlog, requireTimestamp bool }
	tests := []struct {
		name     string
		signer   func(t *testing.T) *fixture.Signer
		auth     auth
		wantText string // empty: verifies
	}{
		{name: "log entry and timestamp, certificate expired since", auth: auth{},
			signer: func(t *testing.T) *fixture.Signer { return expired(t, fixture.Evidence{}) }},
		{name: "timestamp only (ignoreTlog), certificate expired since",
			auth:   auth{ignoreTlog: true},
			signer: func(t *testing.T) *fixture.Signer { return expired(t, fixture.Evidence{NoTlog: true}) }},
		{name: "log entry only, certificate expired since",
			signer: func(t *testing.T) *fixture.Signer { return expired(t, fixture.Evidence{NoTimestamp: true}) }},
		{name: "neither (ignoreTlog), certificate expired", auth: auth{ignoreTlog: true}, wantText: "authority ci",
			signer: func(t *testing.T) *fixture.Signer {
				return expired(t, fixture.Evidence{NoTlog: true, NoTimestamp: true})
			}},
		{name: "neither (ignoreTlog), certificate valid now", auth: auth{ignoreTlog: true},
			signer: func(t *testing.T) *fixture.Signer { return fresh(t, fixture.Evidence{NoTlog: true, NoTimestamp: true}) }},
		{name: "timestamp outside the certificate's validity", auth: auth{ignoreTlog: true}, wantText: "authority ci",
			signer: func(t *testing.T) *fixture.Signer {
				return fresh(t, fixture.Evidence{NoTlog: true, TimestampTime: now.Add(30 * time.Minute)})
			}},
		{name: "log time outside the certificate's validity", wantText: "authority ci",
			signer: func(t *testing.T) *fixture.Signer {
				return fresh(t, fixture.Evidence{NoTimestamp: true, TlogTime: now.Add(30 * time.Minute)})
			}},
		{name: "tampered log entry", wantText: "authority ci",
			signer: func(t *testing.T) *fixture.Signer { return fresh(t, fixture.Evidence{TamperTlog: true}) }},
		{name: "log entry required, none carried", wantText: "authority ci",
			signer: func(t *testing.T) *fixture.Signer { return fresh(t, fixture.Evidence{NoTlog: true}) }},
		{name: "signed timestamp required, none carried", auth: auth{requireTimestamp: true}, wantText: "timestamp",
			signer: func(t *testing.T) *fixture.Signer { return fresh(t, fixture.Evidence{NoTimestamp: true}) }},
		{name: "signed timestamp required and carried", auth: auth{requireTimestamp: true},
			signer: func(t *testing.T) *fixture.Signer { return fresh(t, fixture.Evidence{}) }},
		{name: "signed timestamp required, ignoreTlog, expired certificate", auth: auth{ignoreTlog: true, requireTimestamp: true},
			signer: func(t *testing.T) *fixture.Signer { return expired(t, fixture.Evidence{NoTlog: true}) }},
	}
	for _, l := range layouts {
		for i, tc := range tests {
			t.Run(l.name+"/"+tc.name, func(t *testing.T) {
				d := fixture.PushRandomImage(t, reg.Repo("time/"+l.name)+":"+string(rune('a'+i)))
				l.sign(t, tc.signer(t), d)
				a := keylessAuthority(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity, RequireSignedTimestamp: tc.auth.requireTimestamp}, ca.TrustedRootJSON)
				a.IgnoreTlog = tc.auth.ignoreTlog
				v := newTestVerifier(t, imagePolicy(a), testOpts{})
				res, err := verifyImage(t, v, d)
				var want []string
				if tc.wantText != "" {
					want = []string{gate.CheckImageSignature}
				}
				expect(t, res, err, want, tc.wantText)
			})
		}
	}
}

// An identity regexp must match the whole certificate identity: a
// certificate for a longer identity that merely contains the expected one
// does not verify, in either layout.
func TestUnanchoredIdentityCertificate(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			for _, tc := range []struct {
				name             string
				subject, issuer  string
				wantVerification bool
			}{
				{"the identity itself", "builder@example.com", testIssuer, true},
				{"an identity with the expected one as prefix", "builder@example.com.attacker.example", testIssuer, false},
				{"an identity with the expected one as suffix", "evil-builder@example.com", testIssuer, false},
				{"an issuer with the expected one as prefix", "builder@example.com", testIssuer + ".attacker.example", false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					d := fixture.PushRandomImage(t, reg.Repo("anchor/"+l.name)+":latest")
					l.sign(t, ca.Signer(t, tc.subject, tc.issuer), d)
					a := keylessAuthority(v1alpha1.KeylessAuthority{IssuerRegExp: `https://issuer\.example\.com`, SubjectRegExp: `builder@example\.com`}, ca.TrustedRootJSON)
					res, err := verifyImage(t, newTestVerifier(t, imagePolicy(a), testOpts{}), d)
					var want []string
					if !tc.wantVerification {
						want = []string{gate.CheckImageSignature}
					}
					expect(t, res, err, want, "")
				})
			}
		})
	}
}

// Keyless attestations carry the same evidence as signatures (a dsse log
// entry and a timestamp over the envelope in the classic layout; an entry
// with an inclusion proof and a timestamp in a bundle) and verify with the
// log required, also once their certificate has expired.
func TestKeylessAttestations(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	scan := fixture.TrivyVulnPredicate(t, testNow.Add(-time.Hour))
	attest := map[string]func(t *testing.T, s *fixture.Signer, d name.Digest){
		"classic": func(t *testing.T, s *fixture.Signer, d name.Digest) {
			s.SignClassic(t, d)
			s.AttestClassic(t, d, fixture.CosignVulnPredicate, scan)
		},
		"bundle": func(t *testing.T, s *fixture.Signer, d name.Digest) {
			s.SignBundle(t, d)
			s.AttestBundle(t, d, fixture.CosignVulnPredicate, scan)
		},
	}
	for layout, do := range attest {
		for _, tc := range []struct {
			name     string
			signer   func(t *testing.T) *fixture.Signer
			tamper   bool
			wantText string
		}{
			{name: "valid certificate", signer: func(t *testing.T) *fixture.Signer { return ca.Signer(t, testIdentity, testIssuer) }},
			{name: "certificate expired since", signer: func(t *testing.T) *fixture.Signer {
				return ca.SignerValidFrom(t, testIdentity, testIssuer, time.Now().Add(-time.Hour))
			}},
			{name: "tampered log entry", tamper: true, wantText: "authority ci",
				signer: func(t *testing.T) *fixture.Signer { return ca.Signer(t, testIdentity, testIssuer) }},
		} {
			t.Run(layout+"/"+tc.name, func(t *testing.T) {
				d := fixture.PushRandomImage(t, reg.Repo("keyless-att/"+layout)+":latest")
				s := tc.signer(t)
				s.Evidence.TamperTlog = tc.tamper
				do(t, s, d)
				spec := imagePolicy(keylessAuthority(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}, ca.TrustedRootJSON))
				spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule("24h", &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}})}
				res, err := verifyImage(t, newTestVerifier(t, spec, testOpts{}), d)
				var want []string
				if tc.wantText != "" {
					want = []string{gate.CheckImageSignature, gate.CheckAttestation}
				}
				expect(t, res, err, want, tc.wantText)
			})
		}
	}
}
