package customrun

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	ttesting "github.com/tektoncd/pipeline/pkg/reconciler/testing"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	cminformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/system"

	"github.com/security-gate/security-gate/pkg/gate"
)

// credentials is one KeychainFactory call.
type credentials struct {
	ns, sa  string
	secrets []string
}

func TestCachedKeychains(t *testing.T) {
	errAPI := errors.New("the API server is down")
	run := credentials{"ci", "default", nil}
	for _, tc := range []struct {
		name string
		// calls are made in order; stepBefore[i] advances the clock first.
		calls      []credentials
		stepBefore map[int]bool
		// failFirst makes the factory's first answer an error.
		failFirst bool
		wantMade  int
	}{
		{name: "the same credentials twice are read once", calls: []credentials{run, run}, wantMade: 1},
		{name: "after the TTL they are read again", calls: []credentials{run, run}, stepBefore: map[int]bool{1: true}, wantMade: 2},
		{name: "another namespace is other credentials", calls: []credentials{run, {"other", "default", nil}}, wantMade: 2},
		{name: "another service account is other credentials", calls: []credentials{run, {"ci", "builder", nil}}, wantMade: 2},
		{name: "other pull secrets are other credentials", calls: []credentials{run, {"ci", "default", []string{"regcred"}}}, wantMade: 2},
		{name: "a failure is not kept", calls: []credentials{run, run}, failFirst: true, wantMade: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(testNow)
			made := 0
			f := cachedKeychains(func(_ context.Context, ns, sa string, secrets []string) (authn.Keychain, error) {
				made++
				if tc.failFirst && made == 1 {
					return nil, errAPI
				}
				return authn.NewMultiKeychain(), nil
			}, clk)
			for i, c := range tc.calls {
				if tc.stepBefore[i] {
					clk.Step(keychainTTL + 1)
				}
				kc, err := f(context.Background(), c.ns, c.sa, c.secrets)
				switch {
				case tc.failFirst && i == 0:
					if !errors.Is(err, errAPI) {
						t.Fatalf("call %d: err %v, want %v", i, err, errAPI)
					}
				case err != nil || kc == nil:
					t.Fatalf("call %d: keychain %v, err %v", i, kc, err)
				}
			}
			if made != tc.wantMade {
				t.Errorf("the factory made %d keychains, want %d", made, tc.wantMade)
			}
		})
	}
}

// TestDefaultKeychainIsCached: the controller's own keychain factory reads
// the run's and the controller's service accounts once per TTL, not once
// per verification.
func TestDefaultKeychainIsCached(t *testing.T) {
	ctx, _ := ttesting.SetupFakeContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	c, _ := test.SeedTestData(t, ctx, test.Data{ServiceAccounts: []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ci"}},
		{ObjectMeta: metav1.ObjectMeta{Name: controllerServiceAccount(), Namespace: system.Namespace()}},
	}})
	clk := clocktesting.NewFakeClock(testNow)
	_, r := newImpl(ctx, cminformer.NewInformedWatcher(c.Kube, system.Namespace()), Options{
		Clock:     clk,
		Policies:  &fakePolicies{},
		NewEngine: (&fakeEngine{}).New,
		NewVerifier: func(context.Context, VerifierRequest) (gate.ArtifactVerifier, error) {
			return fakeVerifier{}, nil
		},
	})
	reads := func() int {
		n := 0
		for _, a := range c.Kube.Actions() {
			if a.GetVerb() == "get" && a.GetResource().Resource == "serviceaccounts" {
				n++
			}
		}
		return n
	}
	for i, step := range []struct {
		advance   bool
		wantReads int
	}{
		{wantReads: 2}, // the run's service account and the controller's
		{wantReads: 2}, // a second verification within the TTL reads nothing
		{advance: true, wantReads: 4},
	} {
		if step.advance {
			clk.Step(keychainTTL + 1)
		}
		if _, err := r.Keychain(ctx, "ci", "default", nil); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := reads(); got != step.wantReads {
			t.Errorf("step %d: %d service account reads so far, want %d", i, got, step.wantReads)
		}
	}
}
