package verify

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/test/fixture"
)

// tufWorld is the public Sigstore instance in miniature: an in-process
// Sigstore whose trusted_root.json is the target of a TUF repository on
// loopback, and a trust-root pool whose public instance is that repository
// (the embedded-root mechanism the production default goes through).
type tufWorld struct {
	reg   *fixture.Registry
	ca    *fixture.CA
	repo  *fixture.TUFRepo
	clock *clocktesting.FakeClock
	pool  *trustroot.Pool
}

func newTUFWorld(t *testing.T, mod ...func(*trustroot.Options)) *tufWorld {
	t.Helper()
	w := &tufWorld{reg: fixture.NewRegistry(t, true), ca: fixture.NewCA(t), clock: clocktesting.NewFakeClock(testNow)}
	w.repo = fixture.NewTUFRepo(t, w.clock.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(w.ca.TrustedRootJSON)})
	w.pool = w.newPool(t, t.TempDir(), mod...)
	return w
}

func (w *tufWorld) newPool(t *testing.T, dir string, mod ...func(*trustroot.Options)) *trustroot.Pool {
	t.Helper()
	o := trustroot.Options{CacheDir: dir, Timeout: 5 * time.Second, Now: w.clock.Now,
		PublicRoot: w.repo.InitialRoot(), PublicMirror: w.repo.URL}
	for _, m := range mod {
		m(&o)
	}
	p, err := trustroot.NewPool(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// publicKeyless is a keyless authority with no trustedRoot and no tuf: the
// public instance's root, as a policy written for images signed in GitHub
// Actions or with cosign's defaults.
func publicKeyless(id v1alpha1.KeylessAuthority) v1alpha1.Authority {
	return v1alpha1.Authority{Name: "ci", Keyless: &id, IgnoreSCT: true}
}

func (w *tufWorld) verify(t *testing.T, a v1alpha1.Authority, pool *trustroot.Pool, d string) (gate.ImageResult, error) {
	t.Helper()
	v := newTestVerifier(t, imagePolicy(a), testOpts{roots: pool, timeout: 5 * time.Second})
	return verifyImage(t, v, mustDigest(t, d))
}

// A policy with a keyless authority and no trustedRoot verifies against the
// public instance's root, fetched through TUF, in both layouts.
func TestKeylessAgainstThePublicInstance(t *testing.T) {
	w := newTUFWorld(t)
	exact := v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			d := fixture.PushRandomImage(t, w.reg.Repo("public/"+l.name)+":1")
			l.sign(t, w.ca.Signer(t, testIdentity, testIssuer), d)
			res, err := w.verify(t, publicKeyless(exact), w.pool, d.String())
			expect(t, res, err, nil, "")

			res, err = w.verify(t, publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: "someone@example.com"}), w.pool, d.String())
			expect(t, res, err, []string{gate.CheckImageSignature}, "authority ci")

			rogue := fixture.PushRandomImage(t, w.reg.Repo("public/rogue-"+l.name)+":1")
			l.sign(t, fixture.NewCA(t).Signer(t, testIdentity, testIssuer), rogue)
			res, err = w.verify(t, publicKeyless(exact), w.pool, rogue.String())
			expect(t, res, err, []string{gate.CheckImageSignature}, "authority ci")
		})
	}
	// Without a pool there is no public instance: could not decide.
	d := fixture.PushRandomImage(t, w.reg.Repo("public/nopool")+":1")
	w.ca.Signer(t, testIdentity, testIssuer).SignClassic(t, d)
	if res, err := w.verify(t, publicKeyless(exact), nil, d.String()); err == nil {
		t.Fatalf("no trust root at all, yet decided: %+v", res)
	}
}

// keyless.tuf names a mirror, or carries a serialized repository.
func TestKeylessTUFRepositories(t *testing.T) {
	w := newTUFWorld(t)
	d := fixture.PushRandomImage(t, w.reg.Repo("tuf/app")+":1")
	w.ca.Signer(t, testIdentity, testIssuer).SignBundle(t, d)
	serialized, err := v1alpha1.EncodeTUFRepository(w.repo.Files())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tuf  v1alpha1.TUFRepository
	}{
		{"mirror with its initial root", v1alpha1.TUFRepository{Mirror: w.repo.URL, Root: string(w.repo.InitialRoot())}},
		{"serialized repository", v1alpha1.TUFRepository{Repository: serialized, Root: string(w.repo.InitialRoot())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A pool whose public instance is unusable: the authority's
			// own repository must be what is read.
			pool := w.newPool(t, t.TempDir(), func(o *trustroot.Options) {
				o.PublicRoot, o.PublicMirror = fixture.NewTUFRepo(t, w.clock.Now, nil).InitialRoot(), "http://127.0.0.1:9"
			})
			a := publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity, TUF: &tc.tuf})
			res, err := w.verify(t, a, pool, d.String())
			expect(t, res, err, nil, "")
		})
	}
}

// A root that cannot be fetched or verified is "could not decide" (an
// error, transient when the repository was unreachable), never a pass, and
// never a fallback to another root.
func TestTrustRootFailuresCannotDecide(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(t *testing.T, w *tufWorld) (v1alpha1.Authority, *trustroot.Pool)
		wantTransient bool
		wantText      string
	}{
		{name: "public instance answers 500", wantTransient: true, wantText: "500",
			setup: func(t *testing.T, w *tufWorld) (v1alpha1.Authority, *trustroot.Pool) {
				w.repo.SetHook(func(rw http.ResponseWriter, _ *http.Request) bool {
					http.Error(rw, "down", http.StatusInternalServerError)
					return true
				})
				return publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}), w.pool
			}},
		{name: "public instance stalls", wantTransient: true, wantText: "TUF",
			setup: func(t *testing.T, w *tufWorld) (v1alpha1.Authority, *trustroot.Pool) {
				w.repo.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
					<-r.Context().Done()
					return true
				})
				pool := w.newPool(t, t.TempDir(), func(o *trustroot.Options) { o.Timeout = 200 * time.Millisecond })
				return publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}), pool
			}},
		{name: "timestamp metadata expired", wantText: "timestamp.json is expired",
			setup: func(t *testing.T, w *tufWorld) (v1alpha1.Authority, *trustroot.Pool) {
				w.repo.ExpireTimestamp(t, w.clock.Now().Add(-time.Minute))
				return publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}), w.pool
			}},
		{name: "rollback to an older repository state", wantText: "version",
			setup: func(t *testing.T, w *tufWorld) (v1alpha1.Authority, *trustroot.Pool) {
				dir := t.TempDir()
				old := w.repo.Files()
				w.repo.Publish(t, trustroot.TrustedRootTarget, []byte(w.ca.TrustedRootJSON))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if _, err := w.newPool(t, dir).Public().TrustedMaterial(ctx); err != nil {
					t.Fatal(err)
				}
				w.repo.Serve(old)
				return publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity}), w.newPool(t, dir)
			}},
		{name: "the authority's mirror fails while the public instance works", wantTransient: true, wantText: `authority "ci": keyless.tuf`,
			setup: func(t *testing.T, w *tufWorld) (v1alpha1.Authority, *trustroot.Pool) {
				other := fixture.NewTUFRepo(t, w.clock.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(w.ca.TrustedRootJSON)})
				other.SetHook(func(rw http.ResponseWriter, _ *http.Request) bool {
					http.Error(rw, "down", http.StatusBadGateway)
					return true
				})
				tuf := &v1alpha1.TUFRepository{Mirror: other.URL, Root: string(other.InitialRoot())}
				return publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity, TUF: tuf}), w.pool
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newTUFWorld(t)
			d := fixture.PushRandomImage(t, w.reg.Repo("fail/app")+":1")
			w.ca.Signer(t, testIdentity, testIssuer).SignClassic(t, d)
			a, pool := tc.setup(t, w)
			res, err := w.verify(t, a, pool, d.String())
			if err == nil {
				t.Fatalf("decided without a trust root: %+v", res)
			}
			if transient.Is(err) != tc.wantTransient {
				t.Errorf("transient = %t, want %t: %v", transient.Is(err), tc.wantTransient, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not mention %q", err, tc.wantText)
			}
		})
	}
}

// A new trusted root version adds a certificate authority: an image signed
// under it fails until the gate's root is refreshed, then verifies.
func TestTrustRootKeyRotation(t *testing.T) {
	w := newTUFWorld(t)
	added := fixture.NewCA(t)
	d := fixture.PushRandomImage(t, w.reg.Repo("rotation/app")+":1")
	added.Signer(t, testIdentity, testIssuer).SignBundle(t, d)
	a := publicKeyless(v1alpha1.KeylessAuthority{Issuer: testIssuer, Subject: testIdentity})
	cache := NewCache(100, time.Hour)
	v := newTestVerifier(t, imagePolicy(a), testOpts{roots: w.pool, cache: cache})

	res, err := verifyImage(t, v, d)
	expect(t, res, err, []string{gate.CheckImageSignature}, "authority ci")

	w.repo.Publish(t, trustroot.TrustedRootTarget, []byte(fixture.TrustedRootOf(t, w.ca, added)))
	w.clock.Step(trustroot.DefaultRefreshInterval)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.pool.Public().Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = verifyImage(t, v, d)
	expect(t, res, err, nil, "")
}
