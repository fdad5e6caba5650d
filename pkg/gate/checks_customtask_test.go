package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// TestCustomTasks: a custom task other than the gate may start pods the
// gate cannot see; when an enabled check needs to see what runs, that is a
// violation, unless the policy lists its kind as running no pods.
func TestCustomTasks(t *testing.T) {
	pipeline := func(task string) string {
		return `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr, namespace: ci}
spec:
  pipelineSpec:
    tasks:
    - {name: gate, taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}}
    - {name: x, runAfter: [gate], ` + task + `}
`
	}
	const subject = "pipelinerun/ci/pr task=x"
	approval := v1alpha1.CustomTaskKind{APIVersion: "approval.example.dev/v1alpha1", Kind: "ApprovalTask"}
	restricted := func(s *v1alpha1.SecurityGateSpec) {}
	listed := func(s *v1alpha1.SecurityGateSpec) {
		s.CustomTasks = &v1alpha1.CustomTaskPolicy{NoPods: []v1alpha1.CustomTaskKind{approval}}
	}
	tests := []struct {
		name    string
		policy  func(*v1alpha1.SecurityGateSpec)
		task    string
		verdict gate.Verdict
		wants   []want
	}{{
		name: "pipelines in pipelines as a tekton.dev/v1alpha1 Pipeline custom task", policy: restricted,
		task:    "taskRef: {apiVersion: tekton.dev/v1alpha1, kind: Pipeline, name: inner}",
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckUnresolved, subject, `custom task (apiVersion "tekton.dev/v1alpha1", kind "Pipeline") is run by another controller`)},
	}, {
		name: "an unlisted custom task", policy: restricted,
		task:    "taskRef: {apiVersion: approval.example.dev/v1alpha1, kind: ApprovalTask, name: ok}",
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckUnresolved, subject, "its content is needed by an enabled check")},
	}, {
		name: "an embedded custom task spec", policy: restricted,
		task:    "taskSpec: {apiVersion: runner.example.dev/v1, kind: Runner, spec: {image: evil}}",
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckUnresolved, subject, `custom task (apiVersion "runner.example.dev/v1", kind "Runner")`)},
	}, {
		name: "a kind listed in customTasks.noPods stays a warning", policy: listed,
		task:    "taskRef: {apiVersion: approval.example.dev/v1alpha1, kind: ApprovalTask, name: ok}",
		verdict: gate.VerdictWarn,
		wants:   []want{w(gate.CheckUnresolved, subject, "customTasks.noPods lists it as running no pods")},
	}, {
		name: "the list matches apiVersion exactly", policy: listed,
		task:    "taskRef: {apiVersion: approval.example.dev/v1beta1, kind: ApprovalTask, name: ok}",
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckUnresolved, subject, "is run by another controller")},
	}, {
		name: "no enabled check needs what runs: a warning", policy: privileged,
		task:    "taskRef: {apiVersion: tekton.dev/v1alpha1, kind: Pipeline, name: inner}",
		verdict: gate.VerdictWarn,
		wants:   []want{w(gate.CheckUnresolved, subject, "is run by another controller")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, verify(t, spec(tt.policy), pipeline(tt.task), gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
