package verify

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/provenance"
	"github.com/security-gate/security-gate/test/fixture"
)

// provWorld is a loopback registry with what a release gate meets: Chains'
// key (it signs images and provenance), the release key (it signs task
// bundles), another key, a step image, the build task in a bundle signed by
// the release key and in one nobody signed.
type provWorld struct {
	reg                    *fixture.Registry
	chains, release, other *fixture.Signer
	step                   name.Digest
	signedTask, unsigned   name.Digest
}

func newProvWorld(t *testing.T) *provWorld {
	t.Helper()
	w := &provWorld{reg: fixture.NewRegistry(t, true), chains: fixture.NewKey(t), release: fixture.NewKey(t), other: fixture.NewKey(t)}
	w.step = fixture.PushRandomImage(t, w.reg.Repo("tools/builder:v1"))
	w.signedTask = fixture.PushBundle(t, w.reg.Repo("tasks/build:v1"), fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build", w.step.String())))
	w.release.SignClassic(t, w.signedTask)
	w.unsigned = fixture.PushBundle(t, w.reg.Repo("tasks/build-unsigned:v1"), fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build", w.step.String(), w.step.String())))
	return w
}

// app pushes an image as a build would, signed by Chains.
func (w *provWorld) app(t *testing.T, repo string) name.Digest {
	d := fixture.PushRandomImage(t, w.reg.Repo(repo+":latest"))
	w.chains.SignClassic(t, d)
	return d
}

const buildUID = "6c1f0d7e-5a4b-4c3d-9e8f-0a1b2c3d4e5f"

// provBuild is a Chains-style build; zero fields take a good build's values.
type provBuild struct {
	v02          bool
	builder      string
	invocationID string
	task         name.Digest // the build task's bundle; zero: the signed one
}

// statement writes the provenance of subject as Chains v0.26 does
// (slsa/v1 for v02, else slsa/v2alpha4).
func (w *provWorld) statement(t *testing.T, subject name.Digest, b provBuild) []byte {
	t.Helper()
	if b.invocationID == "" {
		b.invocationID = buildUID
	}
	if b.task.DigestStr() == "" {
		b.task = w.signedTask
	}
	return fixture.ChainsStatement(t, subject, fixture.ChainsBuild{V02: b.v02, BuilderID: b.builder, InvocationID: b.invocationID,
		Task: b.task, StepImage: w.step})
}

// spec is the release policy: images and provenance signed by Chains'
// key, bundles by the release key, Chains' default builder.
func (w *provWorld) spec(mut ...func(*v1alpha1.SecurityGateSpec)) *v1alpha1.SecurityGateSpec {
	s := &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{keyAuthority("chains", w.chains.PublicPEM), keyAuthority("release", w.release.PublicPEM)},
		Images:      &v1alpha1.ImagePolicy{Authorities: []string{"chains"}},
		Bundles:     &v1alpha1.BundlePolicy{Authorities: []string{"release"}},
		Provenance:  &v1alpha1.ProvenancePolicy{BuilderIDs: []string{"https://tekton.dev/chains/v2"}},
	}
	for _, m := range mut {
		m(s)
	}
	s.SetDefaults(context.Background())
	return s
}

func thisBuild() *gate.Build {
	return &gate.Build{TaskRun: &gate.BuildRun{Namespace: "ci", Name: "release-42-build", UID: buildUID,
		PipelineTask: "build", Result: "IMAGE_URL+IMAGE_DIGEST", Chains: gate.ChainsSigned}}
}

func TestVerifyProvenance(t *testing.T) {
	w := newProvWorld(t)
	bindingOff := func(s *v1alpha1.SecurityGateSpec) { s.Provenance.RunBinding = v1alpha1.ProvenanceOff }
	tests := []struct {
		name  string
		setup func(t *testing.T, app name.Digest)
		spec  *v1alpha1.SecurityGateSpec
		build *gate.Build
		// wantViolation is a substring of the provenance violation; empty:
		// verified. wantNote is a substring of a provenance note.
		wantViolation, wantNote string
	}{
		{name: "Chains' provenance of this run's build", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{}))
			},
			wantNote: "SLSA v1 provenance accepted (layer 1 of"},
		{name: "as a Sigstore bundle", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttachBundle(t, app, provenance.PredicateSLSA1, w.chains.SigstoreBundle(t, w.statement(t, app, provBuild{})))
			},
			wantNote: "SLSA v1 provenance accepted (bundle sha256:"},
		{name: "signed by another key", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.other.AttestClassicStatement(t, app, w.statement(t, app, provBuild{}))
			},
			wantViolation: "no SLSA provenance (predicateType https://slsa.dev/provenance/v0.2 or https://slsa.dev/provenance/v1) signed by authority chains: layer 1 of"},
		{name: "no provenance at all", build: thisBuild(), setup: func(*testing.T, name.Digest) {},
			wantViolation: "there is none in the .att tag or as a Sigstore bundle"},
		{name: "built by another run", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{invocationID: "4b0f6c2e-0000-4000-8000-000000000000"}))
			},
			wantViolation: "was made for the TaskRun with uid 4b0f6c2e-0000-4000-8000-000000000000, not for TaskRun ci/release-42-build"},
		{name: "build task from an unsigned bundle", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{task: w.unsigned}))
			},
			wantViolation: "which is not signed by spec.bundles.authorities"},
		{name: "builder not accepted", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{builder: "https://builder.example.com"}))
			},
			wantViolation: `names builder.id "https://builder.example.com"`},
		{name: "SLSA v0.2 cannot be bound", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{v02: true}))
			},
			wantViolation: "set artifacts.taskrun.format to slsa/v2alpha4"},
		{name: "SLSA v0.2 with runBinding Off", build: thisBuild(), spec: w.spec(bindingOff),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{v02: true}))
			},
			wantNote: "SLSA v0.2 provenance accepted"},
		{name: "signed provenance that does not parse", build: thisBuild(),
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassic(t, app, provenance.PredicateSLSA1, []byte(`{"buildDefinition":{}}`))
			},
			wantViolation: "cannot be read: SLSA v1 provenance: buildDefinition.buildType missing"},
		{name: "offline: no run to bind to", build: &gate.Build{},
			setup: func(t *testing.T, app name.Digest) {
				w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{}))
			},
			wantNote: "there is no run to compare it with here"},
		{name: "not a build output: provenance not judged", build: nil,
			setup: func(t *testing.T, app name.Digest) {
				w.other.AttestClassicStatement(t, app, w.statement(t, app, provBuild{}))
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := w.app(t, "app/release"+string(rune('a'+i)))
			tt.setup(t, app)
			spec := tt.spec
			if spec == nil {
				spec = w.spec()
			}
			v := newTestVerifier(t, spec, testOpts{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := v.VerifyImage(ctx, gate.ImageTarget{Ref: app.String(), Digest: app.String(), Build: tt.build})
			if err != nil {
				t.Fatalf("could not decide: %v", err)
			}
			var violations []string
			for _, f := range res.Findings {
				if f.Check != gate.CheckProvenance || f.Severity != gate.SeverityViolation {
					t.Errorf("unexpected finding: %+v", f)
					continue
				}
				violations = append(violations, f.Message)
			}
			switch {
			case tt.wantViolation == "" && (len(violations) > 0 || !res.Verified):
				t.Fatalf("want verified, got %v (verified %v)", violations, res.Verified)
			case tt.wantViolation != "" && (res.Verified || !strings.Contains(strings.Join(violations, "\n"), tt.wantViolation)):
				t.Fatalf("want a provenance violation containing %q, got %v (verified %v)", tt.wantViolation, violations, res.Verified)
			}
			for _, f := range res.Findings {
				t.Logf("finding: %s", f.Message)
			}
			for _, n := range res.Notes {
				t.Logf("note: %s", n.Message)
			}
			if tt.wantNote != "" && !hasNote(res.Notes, tt.wantNote) {
				t.Errorf("no provenance note containing %q: %+v", tt.wantNote, res.Notes)
			}
			if tt.wantViolation == "" && tt.build != nil && len(res.Evidence) == 0 {
				t.Errorf("no evidence recorded for the accepted provenance")
			}
		})
	}
}

func hasNote(ns []gate.Note, sub string) bool {
	for _, n := range ns {
		if n.Check == gate.CheckProvenance && strings.Contains(n.Message, sub) {
			return true
		}
	}
	return false
}

// TestProvenanceCouldNotDecide: a registry that fails, while the
// provenance or the build task's bundle is read, is could-not-decide,
// never a pass or a violation.
func TestProvenanceCouldNotDecide(t *testing.T) {
	w := newProvWorld(t)
	app := w.app(t, "app/release")
	w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{}))
	down := func(match string) func(http.ResponseWriter, *http.Request) bool {
		return func(rw http.ResponseWriter, req *http.Request) bool {
			if !strings.Contains(req.URL.Path, match) {
				return false
			}
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return true
		}
	}
	for _, tt := range []struct{ name, match string }{
		{"the .att tag", ".att"},
		{"the build task's bundle", "/tasks/build/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.reg.SetHook(down(tt.match))
			defer w.reg.SetHook(nil)
			v := newTestVerifier(t, w.spec(), testOpts{retries: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := v.VerifyImage(ctx, gate.ImageTarget{Ref: app.String(), Digest: app.String(), Build: thisBuild()})
			if res.Verified {
				t.Fatalf("verified while the registry failed: %+v", res)
			}
			undecided := err != nil
			for _, f := range res.Findings {
				switch f.Severity {
				case gate.SeverityError:
					undecided = true
				case gate.SeverityViolation:
					t.Errorf("a violation while the registry failed: %s", f.Message)
				}
			}
			if !undecided {
				t.Fatalf("want could-not-decide, got %+v", res.Findings)
			}
		})
	}
}

// TestProvenancePolicyRefused: a provenance policy the verifier could
// never apply safely is refused when it is compiled.
func TestProvenancePolicyRefused(t *testing.T) {
	w := newProvWorld(t)
	spec := w.spec(func(s *v1alpha1.SecurityGateSpec) { s.Bundles = nil })
	if _, err := New(spec, Options{}); err == nil || !strings.Contains(err.Error(), "spec.bundles.authorities, which is empty") {
		t.Fatalf("trustedCode without bundle authorities: %v", err)
	}
}
