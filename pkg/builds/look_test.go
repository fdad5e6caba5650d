package builds

import (
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// TestLook: the one look the controller and the CLI take at a run: each
// artifact's build for the engine, and what is still awaited.
func TestLook(t *testing.T) {
	pr := mustPipelineRun(t, `
metadata: {name: release-42, namespace: ci, uid: pr-uid}
status:
  childReferences:
  - {kind: TaskRun, name: release-42-build, pipelineTaskName: build}
`)
	pr.Status.PipelineSpec = mustPipelineSpec(t, spec)
	app := "registry.example.com/app@sha256:" + hexA
	base := "registry.example.com/base@sha256:" + hexB
	mixed := "registry.example.com/app@sha256:" + hexB // IMAGE_URL of build, digest of scan
	build := func(signed, status string) *v1.TaskRun {
		tr := mustTaskRun(t, `
metadata:
  name: release-42-build
  namespace: ci
  uid: build-uid
  ownerReferences: [{apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: pr-uid, controller: true}]
status:
  conditions: [{type: Succeeded, status: "`+status+`"}]
  results:
  - {name: IMAGE_URL, value: registry.example.com/app}
  - {name: IMAGE_DIGEST, value: "sha256:`+hexA+`"}
`)
		if signed != "" {
			tr.Annotations = map[string]string{SignedAnnotation: signed}
		}
		return tr
	}
	tests := []struct {
		name       string
		taskRuns   []*v1.TaskRun
		wantChains string // the build's Chains state; "-": no build
		wantWait   string // what is awaited; "": nothing
		chainsOnly bool
	}{
		{name: "signed", taskRuns: []*v1.TaskRun{build("true", "True")}, wantChains: "true"},
		{name: "failed", taskRuns: []*v1.TaskRun{build("failed", "True")}, wantChains: "failed"},
		{name: "Chains pending", taskRuns: []*v1.TaskRun{build("", "True")}, wantChains: "",
			wantWait: "Tekton Chains has not finished with TaskRun ci/release-42-build", chainsOnly: true},
		{name: "build running", taskRuns: []*v1.TaskRun{build("", "Unknown")}, wantChains: "-", wantWait: "has not finished"},
		{name: "build not listed", wantChains: "-", wantWait: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, waiting := Look(pr, "release-gate", "images", []string{app, base, mixed}, tt.taskRuns)
			// The literal base image is never built by the run: untraced for good.
			if b := got[base]; b == nil || b.TaskRun != nil || !strings.Contains(b.Untraced, "not a result of a task of this run") {
				t.Errorf("literal image: %+v, want untraced", b)
			}
			if b := got[mixed]; b == nil || b.TaskRun != nil || !strings.Contains(b.Untraced, "made of the results of build and scan") {
				t.Errorf("image made of two tasks' results: %+v, want untraced", b)
			}
			b := got[app]
			switch {
			case tt.wantChains == "-" && b != nil:
				t.Errorf("build %+v, want none yet", b)
			case tt.wantChains != "-" && (b == nil || b.TaskRun == nil || b.TaskRun.Chains != tt.wantChains || b.TaskRun.UID != "build-uid"):
				t.Errorf("build %+v, want TaskRun build-uid with Chains %q", b, tt.wantChains)
			}
			if tt.wantWait == "" {
				if len(waiting) != 0 {
					t.Errorf("waiting for %+v, want nothing", waiting)
				}
				return
			}
			if len(waiting) == 0 || !strings.Contains(waiting[0].Why, tt.wantWait) || waiting[0].ChainsOnly != tt.chainsOnly || waiting[0].Artifact != app {
				t.Errorf("waiting %+v, want %s (chains only %v) for %s", waiting, tt.wantWait, tt.chainsOnly, app)
			}
		})
	}
	// Values that cannot be paired with the expressions: all untraced.
	got, waiting := Look(pr, "release-gate", "images", []string{app}, nil)
	if len(waiting) != 0 || got[app] == nil || got[app].Untraced == "" {
		t.Errorf("unpairable values: %+v, %+v; want untraced", got, waiting)
	}
}
