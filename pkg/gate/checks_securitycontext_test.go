package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// restrictedSC is a container securityContext that meets "restricted".
const restrictedSC = `{runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}`

// containerOnlySC meets restricted except what a pod can provide.
const containerOnlySC = `{allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}`

func TestSecurityContext(t *testing.T) {
	pr := func(podTemplate, taskRunSpecs, steps string) string {
		return `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr, namespace: ci}
spec:
  taskRunTemplate: ` + podTemplate + `
  taskRunSpecs: ` + taskRunSpecs + `
  pipelineSpec:
    tasks:
    - name: a
      taskSpec:
        steps: ` + steps + `
`
	}
	const subj = "pipelinerun/ci/pr task=a step=s"
	tests := []struct {
		name    string
		level   v1alpha1.SecurityContextLevel
		in      string
		verdict gate.Verdict
		wants   []want
	}{{
		name: "restricted step passes", level: v1alpha1.LevelRestricted,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine, securityContext: " + restrictedSC + "}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "no securityContext fails restricted and names every rule", level: v1alpha1.LevelRestricted,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine}]}\n",
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckSecurityContext, "task/t step=s", `step "s" fails Pod Security Standards level "restricted": allowPrivilegeEscalation != false`),
			v(gate.CheckSecurityContext, "task/t step=s", "runAsNonRoot != true"),
			v(gate.CheckSecurityContext, "task/t step=s", "seccompProfile"),
			v(gate.CheckSecurityContext, "task/t step=s", "unrestricted capabilities"),
		},
	}, {
		name: "no securityContext passes baseline", level: v1alpha1.LevelBaseline,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "privileged step fails baseline", level: v1alpha1.LevelBaseline,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine, securityContext: {privileged: true}}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckSecurityContext, "task/t step=s", "privileged")},
	}, {
		name: "level privileged checks nothing", level: v1alpha1.LevelPrivileged,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine, securityContext: {privileged: true}}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "stepTemplate securityContext is merged into the step", level: v1alpha1.LevelRestricted,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {stepTemplate: {securityContext: " + restrictedSC + "}, steps: [{name: s, image: alpine}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "step overrides a compliant stepTemplate field", level: v1alpha1.LevelRestricted,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {stepTemplate: {securityContext: " + restrictedSC + "}, steps: [{name: s, image: alpine, securityContext: {allowPrivilegeEscalation: true}}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckSecurityContext, "task/t step=s", "allowPrivilegeEscalation != false")},
	}, {
		name: "pod-level runAsNonRoot and seccomp from taskRunTemplate", level: v1alpha1.LevelRestricted,
		in:      pr(`{podTemplate: {securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}}}`, `[]`, `[{name: s, image: alpine, securityContext: `+containerOnlySC+`}]`),
		verdict: gate.VerdictPass,
	}, {
		name: "without the podTemplate the same step fails", level: v1alpha1.LevelRestricted,
		in:      pr(`{}`, `[]`, `[{name: s, image: alpine, securityContext: `+containerOnlySC+`}]`),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckSecurityContext, subj, "runAsNonRoot != true"), v(gate.CheckSecurityContext, subj, "seccompProfile")},
	}, {
		name: "taskRunSpecs podTemplate merged over taskRunTemplate", level: v1alpha1.LevelRestricted,
		in: pr(`{podTemplate: {securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}}}`,
			`[{pipelineTaskName: a, podTemplate: {hostNetwork: true}}]`, `[{name: s, image: alpine, securityContext: `+containerOnlySC+`}]`),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckSecurityContext, "pipelinerun/ci/pr task=a", "pod fails Pod Security Standards level \"restricted\": host namespaces")},
	}, {
		name: "taskRunSpecs podTemplate securityContext replaces the template's", level: v1alpha1.LevelRestricted,
		in: pr(`{podTemplate: {securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}}}`,
			`[{pipelineTaskName: a, podTemplate: {securityContext: {runAsUser: 0}}}]`, `[{name: s, image: alpine, securityContext: `+containerOnlySC+`}]`),
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckSecurityContext, "pipelinerun/ci/pr task=a", "runAsUser=0"),
			v(gate.CheckSecurityContext, subj, "runAsNonRoot != true"),
			v(gate.CheckSecurityContext, subj, "seccompProfile"),
		},
	}, {
		name: "stepSpecs only change resources and do not affect the outcome", level: v1alpha1.LevelRestricted,
		in: pr(`{podTemplate: {securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}}}`,
			`[{pipelineTaskName: a, stepSpecs: [{name: s, computeResources: {limits: {memory: 1Gi}}}]}]`, `[{name: s, image: alpine, securityContext: `+containerOnlySC+`}]`),
		verdict: gate.VerdictPass,
	}, {
		name: "task hostPath volume fails at pod level once", level: v1alpha1.LevelBaseline,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {volumes: [{name: h, hostPath: {path: /}}], steps: [{name: s, image: alpine}, {name: s2, image: alpine}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckSecurityContext, "task/t", "hostPath volumes")},
	}, {
		name: "sidecar is checked", level: v1alpha1.LevelBaseline,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine}], sidecars: [{name: dind, image: docker, securityContext: {privileged: true}}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckSecurityContext, "task/t sidecar=dind", `sidecar "dind" fails`)},
	}, {
		name: "taskrun podTemplate", level: v1alpha1.LevelRestricted,
		in:      "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {podTemplate: {securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}}, taskSpec: {steps: [{name: s, image: alpine, securityContext: " + containerOnlySC + "}]}}\n",
		verdict: gate.VerdictPass,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				s.SecurityContext = &v1alpha1.SecurityContextPolicy{Level: tt.level}
			})
			expect(t, verify(t, s, tt.in, gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
