package verify

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestReleaseGate runs the engine with our verifier as a gate after a
// build: the artifacts it receives are judged on their provenance for the
// TaskRun that built them, and verified-images lists exactly the artifacts
// that passed, not the step images of the run it also judged.
func TestReleaseGate(t *testing.T) {
	w := newProvWorld(t)
	app := w.app(t, "app/release")
	w.chains.AttestClassicStatement(t, app, w.statement(t, app, provBuild{}))
	// Pushed by the build, not signed yet: Chains has not got to it.
	unsignedYet := fixture.PushRandomImage(t, w.reg.Repo("app/unsigned-yet:latest"))
	stranger := w.app(t, "app/stranger")
	w.chains.AttestClassicStatement(t, stranger, w.statement(t, stranger, provBuild{invocationID: "4b0f6c2e-0000-4000-8000-000000000000"}))
	// The run the gate belongs to: one step, its image signed by Chains'
	// key too, so it verifies like the artifacts.
	w.chains.SignClassic(t, w.step)
	tr := &v1.TaskRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{Name: "unit", Namespace: "ci"},
		Spec: v1.TaskRunSpec{TaskSpec: &v1.TaskSpec{Steps: []v1.Step{{Name: "s", Image: w.step.String(),
			SecurityContext: fixture.RestrictedSecurityContext()}}}},
	}
	build := thisBuild()
	withChains := func(state string) *gate.Build {
		b := thisBuild()
		b.TaskRun.Chains = state
		return b
	}
	tests := []struct {
		name     string
		images   []string
		builds   map[string]*gate.Build
		live     bool
		verdict  gate.Verdict
		check    string // the check of the one finding expected; empty: none
		msg      string
		verified []string
	}{
		{name: "built by this run", images: []string{app.String()}, builds: map[string]*gate.Build{app.String(): build}, live: true,
			verdict: gate.VerdictPass, verified: []string{app.String()}},
		{name: "an image built by another run", images: []string{stranger.String()}, builds: map[string]*gate.Build{stranger.String(): build}, live: true,
			verdict: gate.VerdictFail, check: gate.CheckProvenance, msg: "built by another run"},
		{name: "not traced to a TaskRun of the run", images: []string{app.String()},
			builds: map[string]*gate.Build{app.String(): {Untraced: `written "registry/app@sha256:…" in the pipeline`}}, live: true,
			verdict: gate.VerdictFail, check: gate.CheckProvenance, msg: `cannot be bound to the TaskRun of this run that built it: written "registry/app@sha256:…"`},
		{name: "no build context in a live run", images: []string{app.String()}, live: true,
			verdict: gate.VerdictFail, check: gate.CheckProvenance, msg: "it is not traced to a TaskRun of this run"},
		{name: "Chains marked the TaskRun failed", images: []string{app.String()}, builds: map[string]*gate.Build{app.String(): withChains(gate.ChainsFailed)}, live: true,
			verdict: gate.VerdictFail, check: gate.CheckChains, msg: `Tekton Chains marked TaskRun ci/release-42-build (pipeline task "build", uid ` + buildUID + `), which built`},
		{name: "Chains has not finished", images: []string{app.String()}, builds: map[string]*gate.Build{app.String(): withChains("")}, live: true,
			verdict: gate.VerdictError, check: gate.CheckChains, msg: "Tekton Chains has not finished with TaskRun ci/release-42-build"},
		{name: "Chains has not finished, nothing signed yet: undecided, not a signature violation", images: []string{unsignedYet.String()},
			builds: map[string]*gate.Build{unsignedYet.String(): withChains("")}, live: true,
			verdict: gate.VerdictError, check: gate.CheckChains, msg: "Tekton Chains has not finished with TaskRun ci/release-42-build"},
		{name: "Chains marked the TaskRun failed, nothing signed: one chains violation", images: []string{unsignedYet.String()},
			builds: map[string]*gate.Build{unsignedYet.String(): withChains(gate.ChainsFailed)}, live: true,
			verdict: gate.VerdictFail, check: gate.CheckChains, msg: "Tekton Chains marked TaskRun ci/release-42-build"},
		{name: "offline", images: []string{app.String()}, verdict: gate.VerdictPass, verified: []string{app.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, w.spec(), testOpts{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			eng := gate.New(gate.Options{Verifier: v, Now: func() time.Time { return testNow }})
			rep := eng.Verify(ctx, w.spec(), gate.Input{Objects: []runtime.Object{tr.DeepCopy()}, Images: tt.images, Builds: tt.builds, Live: tt.live})
			if rep.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: violations %+v errors %+v", rep.Verdict, tt.verdict, rep.Violations, rep.Errors)
			}
			all := append(append([]gate.Finding{}, rep.Violations...), rep.Errors...)
			switch {
			case tt.check == "" && len(all) > 0:
				t.Fatalf("unexpected findings: %+v", all)
			case tt.check != "" && (len(all) != 1 || all[0].Check != tt.check || !strings.Contains(all[0].Message, tt.msg)):
				t.Fatalf("want one %s finding containing %q, got %+v", tt.check, tt.msg, all)
			}
			if !slices.Equal(rep.VerifiedImages, tt.verified) {
				t.Errorf("verified images %v, want exactly %v (the step image %s is not an artifact)", rep.VerifiedImages, tt.verified, w.step)
			}
		})
	}
}
