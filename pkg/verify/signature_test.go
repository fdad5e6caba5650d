package verify

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

func TestImageSignatureKeys(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		w := newWorld(t, referrers)
		other := fixture.NewKey(t)
		third := fixture.NewKey(t)
		signedA := w.image(t, "app/a")
		w.key.SignClassic(t, signedA)

		tests := []struct {
			name       string
			setup      func(t *testing.T) name.Digest
			spec       *v1alpha1.SecurityGateSpec
			wantChecks []string
			wantText   string
		}{{
			name:  "classic signature, right key",
			setup: func(t *testing.T) name.Digest { return signedA },
			spec:  imagePolicy(keyAuthority("release", w.key.PublicPEM)),
		}, {
			name: "classic signature, second of several keys in one data",
			setup: func(t *testing.T) name.Digest {
				d := w.image(t, "app/multi")
				third.SignClassic(t, d)
				return d
			},
			spec: imagePolicy(keyAuthority("release", w.key.PublicPEM, third.PublicPEM)),
		}, {
			name:       "classic signature, wrong key",
			setup:      func(t *testing.T) name.Digest { return signedA },
			spec:       imagePolicy(keyAuthority("release", other.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "no signature of",
		}, {
			name:       "unsigned image",
			setup:      func(t *testing.T) name.Digest { return w.image(t, "app/unsigned") },
			spec:       imagePolicy(keyAuthority("release", w.key.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "is not signed",
		}, {
			name: "signature copied from another image",
			setup: func(t *testing.T) name.Digest {
				c := w.image(t, "app/a")
				fixture.CopyTag(t, fixture.SigTag(signedA), fixture.SigTag(c))
				return c
			},
			spec:       imagePolicy(keyAuthority("release", w.key.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "invalid or missing digest in claim",
		}, {
			name: "right key signs a payload for another digest",
			setup: func(t *testing.T) name.Digest {
				c := w.image(t, "app/claim")
				w.key.SignClassicClaiming(t, c, signedA)
				return c
			},
			spec:       imagePolicy(keyAuthority("release", w.key.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "invalid or missing digest in claim",
		}, {
			name: "sigstore bundle referrer, right key",
			setup: func(t *testing.T) name.Digest {
				d := w.image(t, "app/v3")
				w.key.SignBundle(t, d)
				return d
			},
			spec: imagePolicy(keyAuthority("release", w.key.PublicPEM)),
		}, {
			name: "sigstore bundle referrer, wrong key",
			setup: func(t *testing.T) name.Digest {
				d := w.image(t, "app/v3wrong")
				other.SignBundle(t, d)
				return d
			},
			spec:       imagePolicy(keyAuthority("release", w.key.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "bundle",
		}, {
			name: "sigstore bundle whose statement is about another image",
			setup: func(t *testing.T) name.Digest {
				d := w.image(t, "app/v3copy")
				st := fixture.Statement(t, signedA, fixture.CosignSignPredicate, []byte(`{}`))
				w.key.AttachBundle(t, d, fixture.CosignSignPredicate, w.key.SigstoreBundle(t, st))
				return d
			},
			spec:       imagePolicy(keyAuthority("release", w.key.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "not this image",
		}, {
			name: "an attestation bundle is not a signature",
			setup: func(t *testing.T) name.Digest {
				d := w.image(t, "app/v3att")
				w.key.AttestBundle(t, d, fixture.SLSAProvenance02, fixture.SLSAPredicate(t, testNow))
				return d
			},
			spec:       imagePolicy(keyAuthority("release", w.key.PublicPEM)),
			wantChecks: []string{gate.CheckImageSignature},
			wantText:   "is not signed",
		}, {
			name: "any of two authorities",
			setup: func(t *testing.T) name.Digest {
				d := w.image(t, "app/two")
				other.SignClassic(t, d)
				return d
			},
			spec: imagePolicy(keyAuthority("release", w.key.PublicPEM), keyAuthority("ci", other.PublicPEM)),
		}}
		for _, tc := range tests {
			t.Run(name4(referrers, tc.name), func(t *testing.T) {
				d := tc.setup(t)
				v := newTestVerifier(t, tc.spec, testOpts{})
				res, err := verifyImage(t, v, d)
				expect(t, res, err, tc.wantChecks, tc.wantText)
			})
		}
	}
}

func name4(referrers bool, n string) string {
	if referrers {
		return "referrers-api/" + n
	}
	return "fallback-tag/" + n
}

func TestImageExcluded(t *testing.T) {
	w := newWorld(t, true)
	d := w.image(t, "tools/kaniko")
	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	spec.Images.Exclude = []string{w.reg.Host + "/tools/*"}
	v := newTestVerifier(t, spec, testOpts{})
	w.reg.ResetCounts()
	res, err := verifyImage(t, v, d)
	if err != nil || !res.Excluded || len(res.Findings) != 0 {
		t.Fatalf("got %+v, %v; want excluded", res, err)
	}
	if n := w.reg.Requests(); n != 0 {
		t.Fatalf("excluded image caused %d registry requests", n)
	}
	// The glob is on the repository: another repository is checked.
	res, err = verifyImage(t, v, w.image(t, "tools/kaniko/sub"))
	expect(t, res, err, []string{gate.CheckImageSignature}, "is not signed")
}
