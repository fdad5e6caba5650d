package verify

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestRegistryFailuresNeverPass: a registry that errors or stalls yields
// "could not decide" (an error), after a bounded number of attempts.
func TestRegistryFailuresNeverPass(t *testing.T) {
	w := newWorld(t, true)
	d := w.image(t, "fail/app")
	w.key.SignClassic(t, d)
	w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow))
	sigPath := "/v2/fail/app/manifests/" + strings.TrimPrefix(fixture.SigTag(d), w.reg.Repo("fail/app")+":")
	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule("24h", nil)}
	const retries = 2

	tests := []struct {
		name    string
		hook    func(w http.ResponseWriter, r *http.Request) bool
		timeout time.Duration
		// wantAttempts, when set, is how often sigPath must have been
		// requested: once plus the retries (net/http itself replays a GET
		// once on a dropped reused connection: maxAttempts allows it).
		wantAttempts, maxAttempts int
	}{{
		name: "every request answers 500",
		hook: func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		},
	}, {
		name: "the signature manifest answers 503",
		hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == sigPath {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return true
			}
			return false
		},
		wantAttempts: 1 + retries,
	}, {
		name: "the signature manifest stalls",
		hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == sigPath {
				<-r.Context().Done()
				return true
			}
			return false
		},
		timeout: 200 * time.Millisecond,
		// The stall spends the request's whole budget: no retry.
		wantAttempts: 1,
	}, {
		name: "the connection is dropped",
		hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == sigPath {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return true
			}
			return false
		},
		wantAttempts: 1 + retries,
		maxAttempts:  2 * (1 + retries),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, spec, testOpts{retries: retries, timeout: tc.timeout})
			w.reg.ResetCounts()
			w.reg.SetHook(tc.hook)
			defer w.reg.SetHook(nil)
			res, err := verifyImage(t, v, d)
			if err == nil {
				t.Fatalf("decided despite a failing registry: %+v", res)
			}
			if !transient.Is(err) {
				t.Errorf("error is not classified transient: %v", err)
			}
			if tc.wantAttempts > 0 {
				maxAttempts := max(tc.maxAttempts, tc.wantAttempts)
				if got := w.reg.PathCounts()["GET "+sigPath]; got < tc.wantAttempts || got > maxAttempts {
					t.Errorf("%s requested %d times, want %d to %d", sigPath, got, tc.wantAttempts, maxAttempts)
				}
			}
			if n := w.reg.Requests(); n > 20 {
				t.Errorf("%d requests: retries are not bounded", n)
			}
			// The same verifier decides once the registry is healthy: the
			// failure was not cached.
			w.reg.SetHook(nil)
			res, err = verifyImage(t, v, d)
			expect(t, res, err, nil, "")
		})
	}
}

// TestManifestUnknownIsMissing: a registry that reports a missing classic
// tag with MANIFEST_UNKNOWN under another status than 404 still means
// "missing" (a violation), not "could not decide".
func TestManifestUnknownIsMissing(t *testing.T) {
	w := newWorld(t, true)
	d := w.image(t, "unknown/app")
	w.key.SignClassic(t, d)
	attPath := "/v2/unknown/app/manifests/" + strings.TrimPrefix(fixture.AttTag(d), w.reg.Repo("unknown/app")+":")
	w.reg.SetHook(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == attPath {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = rw.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
			return true
		}
		return false
	})
	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule("24h", nil)}
	v := newTestVerifier(t, spec, testOpts{})
	res, err := verifyImage(t, v, d)
	expect(t, res, err, []string{gate.CheckAttestation}, "has no attestation")
}

// TestOversizedLayer: an attestation layer over the blob cap is refused
// (a violation naming the limit), never read and never a pass.
func TestOversizedLayer(t *testing.T) {
	w := newWorld(t, true)
	d := w.image(t, "big/app")
	w.key.SignClassic(t, d)
	padding := bytes.Repeat([]byte("A"), 200<<10)
	big := fixture.TrivyVulnPredicate(t, testNow, fixture.Vuln{ID: "CVE-" + string(padding), Severity: "LOW"})
	w.key.AttestClassic(t, d, fixture.CosignVulnPredicate, big)
	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule("24h", nil)}
	v := newTestVerifier(t, spec, testOpts{limits: oci.Limits{Blob: 64 << 10}})
	res, err := verifyImage(t, v, d)
	expect(t, res, err, []string{gate.CheckAttestation}, "read limit")
}

// TestOnePingPerRegistry: verifying many images of one registry pings
// `/v2/` once (one shared Puller).
func TestOnePingPerRegistry(t *testing.T) {
	w := newWorld(t, true)
	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	v := newTestVerifier(t, spec, testOpts{})
	var ds []string
	for i := 0; i < 5; i++ {
		d := w.image(t, "ping/app")
		w.key.SignClassic(t, d)
		ds = append(ds, d.String())
	}
	w.reg.ResetCounts()
	for _, s := range ds {
		res, err := verifyImage(t, v, mustDigest(t, s))
		expect(t, res, err, nil, "")
	}
	if got := w.reg.PathCounts()["GET /v2/"]; got != 1 {
		t.Fatalf("GET /v2/ %d times for 5 images, want 1", got)
	}
}
