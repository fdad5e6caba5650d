package customrun

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	fakekube "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/test/fixture"
)

// The controller's verifiers share one trust-root pool: runs of any policy
// use one TUF client per root, and a verdict waits for a root no longer
// than the registry timeout of config-security-gate, however long the pool
// itself would wait.
func TestVerifiersShareTrustRoots(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	ca := fixture.NewCA(t)
	repo := fixture.NewTUFRepo(t, clk.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(ca.TrustedRootJSON)})
	reg := fixture.NewRegistry(t, true)
	img := fixture.PushRandomImage(t, reg.Repo("app")+":1")
	ca.Signer(t, "builder@example.com", "https://issuer.example.com").SignBundle(t, img)

	newPool := func(t *testing.T) *trustroot.Pool {
		p, err := trustroot.NewPool(trustroot.Options{CacheDir: t.TempDir(), Now: clk.Now, Wait: time.Hour,
			PublicRoot: repo.InitialRoot(), PublicMirror: repo.URL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	spec := func(subject string) *v1alpha1.SecurityGateSpec {
		s := &v1alpha1.SecurityGateSpec{
			Authorities: []v1alpha1.Authority{{Name: "ci", IgnoreSCT: true,
				Keyless: &v1alpha1.KeylessAuthority{Issuer: "https://issuer.example.com", Subject: subject}}},
			Images: &v1alpha1.ImagePolicy{Authorities: []string{"ci"}},
		}
		s.SetDefaults(context.Background())
		if fe := s.Validate(context.Background()); fe != nil {
			t.Fatal(fe)
		}
		return s
	}
	verifyWith := func(t *testing.T, f VerifierFactory, s *v1alpha1.SecurityGateSpec, cfg *config.Config) (gate.ImageResult, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		v, err := f(ctx, VerifierRequest{Policy: &policyload.Policy{Policy: v1alpha1.Policy{Kind: v1alpha1.KindClusterSecurityGate, Spec: *s}},
			Keychain: authn.DefaultKeychain, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		return v.VerifyImage(ctx, gate.ImageTarget{Ref: img.String(), Digest: img.String()})
	}

	t.Run("one client for every run and policy", func(t *testing.T) {
		f := defaultVerifier(fakekube.NewSimpleClientset(), &cacheHolder{}, clock.RealClock{}, newPool(t))
		before := repo.Requests()["/timestamp.json"]
		for _, subject := range []string{"builder@example.com", "someone@example.com", "builder@example.com"} {
			res, err := verifyWith(t, f, spec(subject), config.Default())
			if err != nil {
				t.Fatalf("%s: %v", subject, err)
			}
			if res.Verified != (subject == "builder@example.com") {
				t.Fatalf("%s: verified=%t, findings %+v", subject, res.Verified, res.Findings)
			}
		}
		if n := repo.Requests()["/timestamp.json"] - before; n != 1 {
			t.Fatalf("timestamp.json read %d times for three runs, want once", n)
		}
	})

	t.Run("a stalled repository costs a verdict one registry timeout", func(t *testing.T) {
		repo.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
			<-r.Context().Done()
			return true
		})
		defer repo.SetHook(nil)
		cfg := config.Default()
		cfg.RegistryTimeout = 200 * time.Millisecond
		f := defaultVerifier(fakekube.NewSimpleClientset(), &cacheHolder{}, clock.RealClock{}, newPool(t))
		res, err := verifyWith(t, f, spec("builder@example.com"), cfg)
		if err == nil {
			t.Fatalf("decided without a trust root: %+v", res)
		}
		if !transient.Is(err) {
			t.Fatalf("a stalled repository is not transient: %v", err)
		}
	})

	t.Run("config-security-gate names the repository standing for the public instance", func(t *testing.T) {
		other := fixture.NewCA(t)
		mirror := fixture.NewTUFRepo(t, clk.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(other.TrustedRootJSON)})
		cfg, err := config.NewConfigFromMap(map[string]string{
			config.KeySigstoreTUFMirror: mirror.URL, config.KeySigstoreTUFRoot: string(mirror.InitialRoot())})
		if err != nil {
			t.Fatal(err)
		}
		f := defaultVerifier(fakekube.NewSimpleClientset(), &cacheHolder{}, clock.RealClock{}, newPool(t))
		res, err := verifyWith(t, f, spec("builder@example.com"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verified {
			t.Fatal("verified against the public instance although config-security-gate names another repository")
		}
	})
}
