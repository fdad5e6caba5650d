package verify

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

func TestVerifyBundle(t *testing.T) {
	w := newWorld(t, true)
	other := fixture.NewKey(t)
	good := []fixture.BundleLayer{fixture.ObjectLayer("task", "build", fixture.TaskYAML("build", "alpine"))}
	push := func(repo string, layers []fixture.BundleLayer) name.Digest {
		return fixture.PushBundle(t, w.reg.Repo(repo)+":v1", layers...)
	}
	tests := []struct {
		name       string
		setup      func() name.Digest
		wantChecks []string
		wantText   string
	}{{
		name: "signed with the bundles authority",
		setup: func() name.Digest {
			d := push("b/good", good)
			w.key.SignClassic(t, d)
			return d
		},
	}, {
		name: "signed as a sigstore bundle referrer",
		setup: func() name.Digest {
			d := push("b/v3", good)
			w.key.SignBundle(t, d)
			return d
		},
	}, {
		name: "signed with the wrong key",
		setup: func() name.Digest {
			d := push("b/wrong", good)
			other.SignClassic(t, d)
			return d
		},
		wantChecks: []string{gate.CheckBundleSignature},
		wantText:   "no signature of",
	}, {
		name:       "unsigned",
		setup:      func() name.Digest { return push("b/unsigned", good) },
		wantChecks: []string{gate.CheckBundleSignature},
		wantText:   "is not signed",
	}, {
		name: "signed but malformed",
		setup: func() name.Digest {
			d := push("b/malformed", []fixture.BundleLayer{{Kind: "task", Name: "build", APIVersion: "v1",
				Files: []fixture.TarFile{{Name: "a.yaml", Data: fixture.TaskYAML("build", "alpine")}, {Name: "b.yaml", Data: []byte("x: 1")}}}})
			w.key.SignClassic(t, d)
			return d
		},
		wantChecks: []string{gate.CheckBundle},
		wantText:   "exactly one file",
	}}
	spec := &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{keyAuthority("release", w.key.PublicPEM)},
		Bundles:     &v1alpha1.BundlePolicy{Required: true, Authorities: []string{"release"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.setup()
			v := newTestVerifier(t, spec, testOpts{})
			findings, err := v.VerifyBundle(context.Background(), d.String())
			if err != nil {
				t.Fatalf("VerifyBundle: %v", err)
			}
			var got, msgs []string
			for _, f := range findings {
				got = append(got, f.Check)
				msgs = append(msgs, f.Message)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantChecks, ",") {
				t.Fatalf("findings %q, want checks %v", msgs, tc.wantChecks)
			}
			if tc.wantText != "" && !strings.Contains(strings.Join(msgs, "\n"), tc.wantText) {
				t.Fatalf("findings %q do not mention %q", msgs, tc.wantText)
			}
		})
	}
}

func TestVerifyBundleRegistryDown(t *testing.T) {
	w := newWorld(t, true)
	d := fixture.PushBundle(t, w.reg.Repo("b/down")+":v1", fixture.ObjectLayer("task", "build", fixture.TaskYAML("build", "alpine")))
	w.key.SignClassic(t, d)
	w.reg.SetHook(func(rw http.ResponseWriter, r *http.Request) bool {
		http.Error(rw, "down", http.StatusBadGateway)
		return true
	})
	spec := &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{keyAuthority("release", w.key.PublicPEM)},
		Bundles:     &v1alpha1.BundlePolicy{Authorities: []string{"release"}},
	}
	v := newTestVerifier(t, spec, testOpts{retries: 1})
	if f, err := v.VerifyBundle(context.Background(), d.String()); err == nil {
		t.Fatalf("decided with the registry down: %+v", f)
	}
}
