package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// TestEveryGivenObjectIsJudged: Pipelines, Tasks and StepActions given as
// files count as used only when a reference resolved to them, matched by
// namespace and name; anything else is judged on its own, so nothing given
// passes unjudged.
func TestEveryGivenObjectIsJudged(t *testing.T) {
	const tagged = "registry.example.com/tool:1"
	const pinned = "registry.example.com/tool@sha256:" + hex64a
	task := func(ns, image string) string {
		return "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: build" + ns + "}\nspec: {steps: [{name: s, image: \"" + image + "\"}]}\n---\n"
	}
	const run = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr, namespace: ci}\nspec: {taskRef: {name: build}}\n---\n"
	const stepAction = "apiVersion: tekton.dev/v1beta1\nkind: StepAction\nmetadata: {name: sa}\nspec: {image: \"" + tagged + "\"}\n---\n"
	tests := []struct {
		name    string
		in      string
		verdict gate.Verdict
		wants   []want
	}{{
		name: "a file holding only a StepAction is judged", in: stepAction,
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckImageDigest, "stepaction/sa step=sa", `step "sa" image "registry.example.com/tool:1" is not pinned by digest`)},
	}, {
		name:    "a StepAction a step uses is judged through that step only",
		in:      stepAction + "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, ref: {name: sa}}]}\n",
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckImageDigest, "task/t step=s", "is not pinned by digest")},
	}, {
		name:    "the run's Task is matched by namespace: the same name in another namespace is judged alone",
		in:      run + task(", namespace: ci", pinned) + task(", namespace: other", tagged),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckImageDigest, "task/other/build step=s", "is not pinned by digest")},
	}, {
		name:    "a Task of no namespace serves a run of any namespace",
		in:      run + task("", pinned),
		verdict: gate.VerdictPass,
	}, {
		name:    "the run's namespace wins over no namespace, and the other is judged alone",
		in:      run + task(", namespace: ci", pinned) + task("", tagged),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckImageDigest, "task/build step=s", "is not pinned by digest")},
	}, {
		name: "a Pipeline of another namespace than the run's is judged alone",
		in: "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineRef: {name: p}}\n---\n" +
			"apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p, namespace: other}\nspec: {tasks: [{name: a, taskSpec: {steps: [{name: s, image: \"" + tagged + "\"}]}}]}\n",
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckUnresolved, "pipelinerun/ci/pr", `Pipeline "p" could not be loaded`),
			v(gate.CheckImageDigest, "pipeline/other/p task=a step=s", "is not pinned by digest"),
		},
	}, {
		name: "a Task named like a bundle's task is not what the bundle runs: judged alone",
		in: "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr, namespace: ci}\n" +
			"spec: {taskRef: {resolver: bundles, params: [{name: bundle, value: \"registry.example.com/b@sha256:" + hex64a + "\"}, {name: name, value: build}, {name: kind, value: task}]}}\n---\n" +
			task("", tagged),
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckUnresolved, "taskrun/ci/tr", "could not be loaded"),
			v(gate.CheckImageDigest, "task/build step=s", "is not pinned by digest"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				privileged(s)
				s.Images = &v1alpha1.ImagePolicy{RequireDigest: true}
			})
			expect(t, verify(t, s, tt.in, gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
