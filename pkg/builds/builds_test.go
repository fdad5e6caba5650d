package builds

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func mustPipelineSpec(t *testing.T, y string) *v1.PipelineSpec {
	t.Helper()
	var s v1.PipelineSpec
	if err := yaml.UnmarshalStrict([]byte(y), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// spec is a two-gate pipeline: build, a release gate fed by its results,
// deploy.
const spec = `
tasks:
- name: build
  taskRef: {name: build}
- name: scan
  taskRef: {name: scan}
- name: release-gate
  runAfter: [build]
  taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
  params:
  - name: images
    value:
    - "$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"
    - "registry.example.com/base@sha256:` + hexB + `"
    - "$(tasks.build.results.IMAGE_URL)@$(tasks.scan.results.DIGEST)"
- name: all-gate
  taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
  params:
  - name: images
    value: ["$(tasks.build.results.IMAGES[*])"]
- name: string-gate
  taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
  params:
  - {name: images, value: "$(params.image)"}
finally:
- name: final-gate
  taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
  params:
  - name: images
    value: ["$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"]
`

func TestTrace(t *testing.T) {
	s := mustPipelineSpec(t, spec)
	app := "registry.example.com/app@sha256:" + hexA
	tests := []struct {
		name    string
		gate    string
		values  []string
		want    [][]string // PipelineTasks of each output
		wantErr string
	}{
		{name: "one to one", gate: "release-gate", values: []string{app, "registry.example.com/base@sha256:" + hexB, app},
			want: [][]string{{"build"}, nil, {"build", "scan"}}},
		{name: "whole array result", gate: "all-gate", values: []string{app, app, app}, want: [][]string{{"build"}, {"build"}, {"build"}}},
		{name: "finally task", gate: "final-gate", values: []string{app}, want: [][]string{{"build"}}},
		{name: "string from a parameter", gate: "string-gate", values: []string{app}, want: [][]string{nil}},
		{name: "more values than elements", gate: "release-gate", values: []string{app, app}, wantErr: "cannot tell which task produced which"},
		{name: "no such task", gate: "deploy", values: []string{app}, wantErr: `pipeline task "deploy" not found`},
		{name: "no such param", gate: "build", values: []string{app}, wantErr: `sets no param "images"`},
		{name: "no param, no values", gate: "build", values: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Trace(s, tt.gate, "images", tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", out, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(tt.want) {
				t.Fatalf("%d outputs, want %d: %+v", len(out), len(tt.want), out)
			}
			for i := range out {
				if !slices.Equal(out[i].PipelineTasks, tt.want[i]) || out[i].Artifact != tt.values[i] {
					t.Errorf("output %d: %+v, want tasks %v for %s", i, out[i], tt.want[i], tt.values[i])
				}
			}
		})
	}
	if _, err := Trace(nil, "release-gate", "images", []string{app}); err == nil {
		t.Error("no pipelineSpec: want an error")
	}
}

func mustPipelineRun(t *testing.T, y string) *v1.PipelineRun {
	t.Helper()
	var pr v1.PipelineRun
	if err := yaml.Unmarshal([]byte(y), &pr); err != nil {
		t.Fatal(err)
	}
	return &pr
}

func mustTaskRun(t *testing.T, y string) *v1.TaskRun {
	t.Helper()
	var tr v1.TaskRun
	if err := yaml.Unmarshal([]byte(y), &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

func TestProducer(t *testing.T) {
	pr := mustPipelineRun(t, `
metadata: {name: release-42, namespace: ci, uid: pr-uid}
status:
  childReferences:
  - {kind: TaskRun, name: release-42-build, pipelineTaskName: build}
  - {kind: CustomRun, name: release-42-release-gate, pipelineTaskName: release-gate}
  - {kind: TaskRun, name: release-42-matrix-0, pipelineTaskName: matrix}
  - {kind: TaskRun, name: release-42-matrix-1, pipelineTaskName: matrix}
  - {kind: TaskRun, name: release-42-stolen, pipelineTaskName: stolen}
`)
	owned := mustTaskRun(t, `
metadata:
  {name: release-42-build, namespace: ci, ownerReferences: [{apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: pr-uid, controller: true}]}`)
	foreign := mustTaskRun(t, `
metadata:
  {name: release-42-stolen, namespace: ci, ownerReferences: [{apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: other-uid, controller: true}]}`)
	trs := []*v1.TaskRun{foreign, owned}
	tests := []struct{ task, want, wantErr string }{
		{task: "build", want: "release-42-build"},
		{task: "release-gate", wantErr: "ran as a CustomRun"},
		{task: "matrix", wantErr: "ran as 2 TaskRuns"},
		{task: "stolen", wantErr: "not controlled by PipelineRun ci/release-42"},
		{task: "deploy", wantErr: `pipeline task "deploy" has no TaskRun`},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			tr, err := Producer(pr, tt.task, trs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", tr, err, tt.wantErr)
				}
				return
			}
			if err != nil || tr.Name != tt.want {
				t.Fatalf("got %v, %v; want %s", tr, err, tt.want)
			}
		})
	}
	if _, err := Producer(pr, "build", nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("TaskRun not listed: %v", err)
	}
}

func TestOutputsAndReports(t *testing.T) {
	tr := mustTaskRun(t, `
metadata: {name: build, namespace: ci}
status:
  results:
  - {name: IMAGE_URL, value: registry.example.com/app}
  - {name: IMAGE_DIGEST, value: "sha256:`+hexA+`"}
  - {name: CLI_IMAGE_URL, value: registry.example.com/cli}
  - {name: CLI_IMAGE_DIGEST, value: "sha256:`+hexB+`"}
  - {name: LONELY_IMAGE_URL, value: registry.example.com/lonely}
  - {name: IMAGES, value: "registry.example.com/x@sha256:`+hexA+`, registry.example.com/y@sha256:`+hexB+`\nnot-a-digest"}
  - {name: SBOM_ARTIFACT_URI, value: registry.example.com/sbom}
  - {name: SBOM_ARTIFACT_DIGEST, value: "sha256:`+hexB+`"}
  - name: CHART_ARTIFACT_OUTPUTS
    type: object
    value: {uri: registry.example.com/chart, digest: "sha256:`+hexA+`", isBuildArtifact: "true"}
  - name: INPUT_ARTIFACT_OUTPUTS
    type: object
    value: {uri: registry.example.com/input, digest: "sha256:`+hexA+`"}
  - {name: CHAINS-GIT_COMMIT, value: abc}
`)
	var got []string
	for _, h := range Outputs(tr) {
		got = append(got, h.Result+" "+h.Ref.String())
	}
	want := []string{
		"CHART_ARTIFACT_OUTPUTS registry.example.com/chart@sha256:" + hexA,
		"CLI_IMAGE_URL+CLI_IMAGE_DIGEST registry.example.com/cli@sha256:" + hexB,
		"IMAGES registry.example.com/x@sha256:" + hexA,
		"IMAGES registry.example.com/y@sha256:" + hexB,
		"IMAGE_URL+IMAGE_DIGEST registry.example.com/app@sha256:" + hexA,
		"SBOM_ARTIFACT_URI+SBOM_ARTIFACT_DIGEST registry.example.com/sbom@sha256:" + hexB,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Outputs:\n got %q\nwant %q", got, want)
	}
	tests := []struct {
		artifact string
		ok       bool
		signed   bool
	}{
		{"registry.example.com/app@sha256:" + hexA, true, true},
		{"registry.example.com/y@sha256:" + hexB, true, true},
		{"registry.example.com/chart@sha256:" + hexA, true, false},
		{"registry.example.com/app@sha256:" + hexB, false, false},    // another digest
		{"registry.example.com/app2@sha256:" + hexA, false, false},   // another repository
		{"registry.example.com/input@sha256:" + hexA, false, false},  // not a build artifact
		{"registry.example.com/lonely@sha256:" + hexA, false, false}, // URL without digest
		{"not a reference", false, false},
	}
	for _, tt := range tests {
		h, ok := Reports(tr, tt.artifact)
		if ok != tt.ok || h.Signed != tt.signed {
			t.Errorf("Reports(%s) = %+v, %v; want %v (signed %v)", tt.artifact, h, ok, tt.ok, tt.signed)
		}
	}
}

func TestChainsState(t *testing.T) {
	for v, want := range map[string]State{"true": StateSigned, "failed": StateFailed, "": StatePending, "True": StatePending, "retrying": StatePending} {
		tr := &v1.TaskRun{}
		if v != "" {
			tr.Annotations = map[string]string{SignedAnnotation: v}
		}
		if got := ChainsState(tr); got != want {
			t.Errorf("annotation %q: %q, want %q", v, got, want)
		}
	}
}
