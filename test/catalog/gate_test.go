package catalog

import (
	"context"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// releasedImage stands in for what `ko resolve` puts in place of the ko://
// placeholder: the CLI image pinned by digest.
const releasedImage = "registry.example.com/security-gate/security-gate@sha256:" + hex64

// TestTaskPassesDefaultPolicy runs the gate's engine, with the default policy
// (an empty spec after SetDefaults: namespaces.deny [default],
// securityContext.level restricted, gateOrder Enforce), on a TaskRun of the
// catalog Task as a release would ship it. The gate must not reject its own
// step. The image is swapped for a digest-pinned reference because the ko://
// placeholder only exists before release; everything else is the YAML as
// shipped. The second case proves the check can fail on this very Task.
func TestTaskPassesDefaultPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*v1.TaskSpec)
		// wantCheck is the check that must report a violation; empty: pass.
		wantCheck string
	}{
		{name: "as shipped"},
		{
			name: "privilege escalation allowed",
			mutate: func(s *v1.TaskSpec) {
				t := true
				s.Steps[0].SecurityContext.AllowPrivilegeEscalation = &t
			},
			wantCheck: gate.CheckSecurityContext,
		},
		{
			name: "runs as root",
			mutate: func(s *v1.TaskSpec) {
				f, root := false, int64(0)
				s.Steps[0].SecurityContext.RunAsNonRoot = &f
				s.Steps[0].SecurityContext.RunAsUser = &root
			},
			wantCheck: gate.CheckSecurityContext,
		},
	} {
		forEachVersion(t, func(t *testing.T, version string) {
			t.Run(tc.name, func(t *testing.T) {
				task := loadTask(t, version)
				spec := task.Spec.DeepCopy()
				for i := range spec.Steps {
					if spec.Steps[i].Image != koImage {
						t.Fatalf("step %q image %q is not the ko placeholder", spec.Steps[i].Name, spec.Steps[i].Image)
					}
					spec.Steps[i].Image = releasedImage
				}
				if tc.mutate != nil {
					tc.mutate(spec)
				}
				tr := &v1.TaskRun{
					TypeMeta:   metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
					ObjectMeta: metav1.ObjectMeta{Name: "release-42-security-gate", Namespace: "ci"},
					Spec: v1.TaskRunSpec{
						TaskSpec: spec,
						Params: v1.Params{
							{Name: "policy", Value: *v1.NewStructuredValues("strict")},
							{Name: "images", Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{"registry.example.com/app@sha256:" + hex64}}},
						},
					},
				}
				policy := &v1alpha1.SecurityGateSpec{}
				policy.SetDefaults(context.Background())
				now := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
				rep := gate.New(gate.Options{Now: func() time.Time { return now }}).
					Verify(context.Background(), policy, gate.Input{Objects: []runtime.Object{tr}})
				if rep == nil {
					t.Fatal("Verify returned nil")
				}
				if len(rep.Errors) > 0 {
					t.Fatalf("verdict %s: could not decide: %+v", rep.Verdict, rep.Errors)
				}
				if tc.wantCheck == "" {
					if rep.Verdict != gate.VerdictPass && rep.Verdict != gate.VerdictWarn {
						t.Errorf("verdict %s, want pass: violations %+v", rep.Verdict, rep.Violations)
					}
					for _, f := range append(append([]gate.Finding{}, rep.Violations...), rep.Warnings...) {
						if f.Check == gate.CheckSecurityContext {
							t.Errorf("the catalog Task's own step fails the restricted level: %s: %s", f.Subject, f.Message)
						}
					}
					if rep.Summary.Steps != len(spec.Steps) {
						t.Errorf("summary.steps = %d, want %d: the step was not inspected", rep.Summary.Steps, len(spec.Steps))
					}
					return
				}
				found := false
				for _, f := range rep.Violations {
					if f.Check == tc.wantCheck {
						found = true
					}
				}
				if !found || rep.Verdict != gate.VerdictFail {
					t.Errorf("verdict %s, violations %+v: want a %s violation", rep.Verdict, rep.Violations, tc.wantCheck)
				}
			})
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
