package builds

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// locateRun is a PipelineRun whose build task produced app and whose
// release gate received it; the TaskRuns are filled in per case.
func locateRun(t *testing.T) *v1.PipelineRun {
	return mustPipelineRun(t, `
metadata: {name: release-42, namespace: ci, uid: pr-uid}
status:
  pipelineSpec:
    tasks:
    - name: build
      taskRef: {name: build}
    - name: retag
      taskRef: {name: retag}
    - name: release-gate
      runAfter: [build]
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
      params:
      - name: images
        value:
        - "$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"
        - "registry.example.com/base@sha256:`+hexB+`"
        - "$(tasks.build.results.IMAGE_URL)@$(tasks.retag.results.DIGEST)"
  childReferences:
  - {kind: TaskRun, name: release-42-build, pipelineTaskName: build}
  - {kind: TaskRun, name: release-42-retag, pipelineTaskName: retag}
  - {kind: CustomRun, name: release-42-release-gate, pipelineTaskName: release-gate}
`)
}

// buildTaskRun is the TaskRun of pipeline task task, controlled by the run
// with uid owner, in state cond ("True", "False", "Unknown" or "" for no
// condition), reporting app in IMAGE_URL/IMAGE_DIGEST when reports.
func buildTaskRun(t *testing.T, task, owner, cond string, reports bool) *v1.TaskRun {
	y := `
metadata:
  name: release-42-` + task + `
  namespace: ci
  ownerReferences: [{apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: ` + owner + `, controller: true}]
status:
`
	if cond != "" {
		y += "  conditions: [{type: Succeeded, status: \"" + cond + "\", reason: R, message: M}]\n"
	}
	if reports {
		y += "  results:\n  - {name: IMAGE_URL, value: registry.example.com/app}\n  - {name: IMAGE_DIGEST, value: \"sha256:" + hexA + "\"}\n"
	}
	return mustTaskRun(t, y)
}

func TestLocate(t *testing.T) {
	app := "registry.example.com/app@sha256:" + hexA
	base := "registry.example.com/base@sha256:" + hexB
	mixed := "registry.example.com/app@sha256:" + hexB
	good := buildTaskRun(t, "build", "pr-uid", "True", true)
	tests := []struct {
		name      string
		gateTask  string
		artifacts []string
		taskRuns  []*v1.TaskRun
		// want per artifact: the TaskRun name, or "!" + a substring of a
		// final error, or "?" + a substring of a not-yet error.
		want    []string
		wantErr string
	}{
		{name: "traced to the build task", gateTask: "release-gate", artifacts: []string{app, base, mixed}, taskRuns: []*v1.TaskRun{good},
			want: []string{"release-42-build", "!not a result of a task of this run", "!made of the results of build and retag"}},
		{name: "TaskRun not listed yet", gateTask: "release-gate", artifacts: []string{app, base, mixed}, taskRuns: nil,
			want: []string{"?not found", "!not a result", "!made of"}},
		{name: "TaskRun not finished", gateTask: "release-gate", artifacts: []string{app, base, mixed},
			taskRuns: []*v1.TaskRun{buildTaskRun(t, "build", "pr-uid", "Unknown", true)},
			want:     []string{"?has not finished", "!not a result", "!made of"}},
		{name: "TaskRun failed", gateTask: "release-gate", artifacts: []string{app, base, mixed},
			taskRuns: []*v1.TaskRun{buildTaskRun(t, "build", "pr-uid", "False", true)},
			want:     []string{"!did not succeed", "!not a result", "!made of"}},
		{name: "TaskRun of another run", gateTask: "release-gate", artifacts: []string{app, base, mixed},
			taskRuns: []*v1.TaskRun{buildTaskRun(t, "build", "other-uid", "True", true)},
			want:     []string{"!not controlled by PipelineRun ci/release-42", "!not a result", "!made of"}},
		{name: "result not type-hinted", gateTask: "release-gate", artifacts: []string{app, base, mixed},
			taskRuns: []*v1.TaskRun{buildTaskRun(t, "build", "pr-uid", "True", false)},
			want:     []string{"!does not report", "!not a result", "!made of"}},
		{name: "values that do not pair", gateTask: "release-gate", artifacts: []string{app}, wantErr: "cannot tell which task produced which"},

		{name: "search: the one TaskRun reporting it", artifacts: []string{app}, taskRuns: []*v1.TaskRun{good, buildTaskRun(t, "retag", "pr-uid", "True", false)},
			want: []string{"release-42-build"}},
		{name: "search: reported by none", artifacts: []string{base}, taskRuns: []*v1.TaskRun{good, buildTaskRun(t, "retag", "pr-uid", "True", false)},
			want: []string{"!not built by this run"}},
		{name: "search: one TaskRun still running", artifacts: []string{base}, taskRuns: []*v1.TaskRun{good, buildTaskRun(t, "retag", "pr-uid", "Unknown", false)},
			want: []string{"?waiting for release-42-retag (not finished)"}},
		{name: "search: reported by two", artifacts: []string{app}, taskRuns: []*v1.TaskRun{good, buildTaskRun(t, "retag", "pr-uid", "True", true)},
			want: []string{"!reported by 2 TaskRuns"}},
		{name: "search: a TaskRun of another run does not count", artifacts: []string{app},
			taskRuns: []*v1.TaskRun{buildTaskRun(t, "build", "other-uid", "True", true), buildTaskRun(t, "retag", "pr-uid", "True", false)},
			want:     []string{"!not built by this run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Locate(locateRun(t), tt.gateTask, "images", tt.artifacts, tt.taskRuns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v; want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d builds, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				b := got[i]
				switch {
				case strings.HasPrefix(w, "!") || strings.HasPrefix(w, "?"):
					if b.Err == nil || !strings.Contains(b.Err.Error(), w[1:]) || NotYet(b.Err) != (w[0] == '?') {
						t.Errorf("%s: err %v (not yet: %v), want %q", b.Artifact, b.Err, NotYet(b.Err), w)
					}
					if b.TaskRun != nil {
						t.Errorf("%s: a TaskRun despite the error: %s", b.Artifact, b.TaskRun.Name)
					}
				case b.Err != nil || b.TaskRun == nil || b.TaskRun.Name != w:
					t.Errorf("%s: %+v, want TaskRun %s", b.Artifact, b, w)
				case b.Hint.Result != "IMAGE_URL+IMAGE_DIGEST":
					t.Errorf("%s: hint %q", b.Artifact, b.Hint.Result)
				}
			}
		})
	}
	pending := locateRun(t)
	pending.Status.PipelineSpec = nil
	if _, err := Locate(pending, "release-gate", "images", []string{app}, nil); !errors.Is(err, ErrNotYet) {
		t.Errorf("no pipelineSpec yet: %v, want ErrNotYet", err)
	}
}
