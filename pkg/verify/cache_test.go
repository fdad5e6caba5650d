package verify

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

func TestCacheServesSuccessesOnly(t *testing.T) {
	w := newWorld(t, true)
	signed := w.image(t, "cache/signed")
	w.key.SignClassic(t, signed)
	w.key.AttestClassic(t, signed, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(-time.Hour)))
	unsigned := w.image(t, "cache/unsigned")

	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	spec.Attestations = []v1alpha1.AttestationPolicy{vulnRule("24h", nil)}
	cache := NewCache(100, time.Hour)
	v := newTestVerifier(t, spec, testOpts{cache: cache})

	res, err := verifyImage(t, v, signed)
	expect(t, res, err, nil, "")
	res, err = verifyImage(t, v, unsigned)
	expect(t, res, err, []string{gate.CheckImageSignature, gate.CheckAttestation}, "")

	// A second verifier of the same policy (a later run) shares the cache:
	// the verified image needs no registry request at all, even while the
	// registry is down.
	v2 := newTestVerifier(t, spec, testOpts{cache: cache})
	w.reg.ResetCounts()
	w.reg.SetHook(func(rw http.ResponseWriter, r *http.Request) bool {
		http.Error(rw, "down", http.StatusInternalServerError)
		return true
	})
	res, err = verifyImage(t, v2, signed)
	expect(t, res, err, nil, "")
	if n := w.reg.Requests(); n != 0 {
		t.Fatalf("cached verification made %d registry requests", n)
	}
	// The failure was not cached: once signed, the image verifies.
	w.reg.SetHook(nil)
	w.key.SignClassic(t, unsigned)
	w.key.AttestClassic(t, unsigned, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, testNow.Add(-time.Hour)))
	res, err = verifyImage(t, v2, unsigned)
	expect(t, res, err, nil, "")

	// maxAge is judged at each run, also on a cached attestation.
	later := newTestVerifier(t, spec, testOpts{cache: cache})
	later.now = func() time.Time { return testNow.Add(48 * time.Hour) }
	res, err = verifyImage(t, later, signed)
	expect(t, res, err, []string{gate.CheckAttestation}, "older than maxAge")

	// Another key set is another cache entry: no false sharing.
	otherKey := fixture.NewKey(t)
	v3 := newTestVerifier(t, imagePolicy(keyAuthority("release", otherKey.PublicPEM)), testOpts{cache: cache})
	res, err = verifyImage(t, v3, signed)
	expect(t, res, err, []string{gate.CheckImageSignature}, "")
}

func TestCacheSingleflight(t *testing.T) {
	w := newWorld(t, true)
	d := w.image(t, "flight/app")
	w.key.SignClassic(t, d)
	sigPath := "GET /v2/flight/app/manifests/" + fixture.SigTag(d)[len(w.reg.Repo("flight/app"))+1:]
	spec := imagePolicy(keyAuthority("release", w.key.PublicPEM))
	cache := NewCache(100, time.Hour)

	// Hold the first signature read until every run has started, so they
	// really overlap.
	const runs = 8
	release := make(chan struct{})
	w.reg.ResetCounts()
	w.reg.SetHook(func(rw http.ResponseWriter, r *http.Request) bool {
		if "GET "+r.URL.Path == sigPath {
			<-release
		}
		return false
	})
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	started := make(chan struct{}, runs)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := newTestVerifier(t, spec, testOpts{cache: cache})
			started <- struct{}{}
			res, err := v.VerifyImage(context.Background(), gate.ImageTarget{Ref: d.String(), Digest: d.String()})
			if err == nil && !res.Verified {
				t.Errorf("not verified: %+v", res)
			}
			errs <- err
		}()
	}
	for i := 0; i < runs; i++ {
		<-started
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := w.reg.PathCounts()[sigPath]; got != 1 {
		t.Fatalf("%d concurrent runs read the signature %d times, want 1", runs, got)
	}
}
