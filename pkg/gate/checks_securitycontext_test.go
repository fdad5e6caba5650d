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

// TestAppArmorAnnotations: an AppArmor profile set by pod annotation, from
// every place Tekton copies annotations from onto the Pod, fails
// security-context for the step (or sidecar) it names, exactly as the same
// profile in the container's securityContext does; where Tekton's
// precedence lets a safe value win, it passes.
func TestAppArmorAnnotations(t *testing.T) {
	const (
		unconfinedStep    = `{container.apparmor.security.beta.kubernetes.io/step-s: unconfined}`
		runtimeDefault    = `{container.apparmor.security.beta.kubernetes.io/step-s: runtime/default}`
		unconfinedSidecar = `{container.apparmor.security.beta.kubernetes.io/sidecar-proxy: unconfined}`
	)
	// run is a PipelineRun of pipeline p (given too) whose task a is
	// either the embedded taskSpec or taskRef t.
	run := func(prAnn, pipelineAnn, trsAnn, embeddedAnn, taskAnn string, byRef bool) string {
		task := "taskSpec: {metadata: {annotations: " + embeddedAnn + "}, steps: [{name: s, image: alpine}], sidecars: [{name: proxy, image: alpine}]}"
		if byRef {
			task = "taskRef: {name: t}"
		}
		return `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr, namespace: ci, annotations: ` + prAnn + `}
spec:
  pipelineRef: {name: p}
  taskRunSpecs: [{pipelineTaskName: a, metadata: {annotations: ` + trsAnn + `}}]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p, annotations: ` + pipelineAnn + `}
spec:
  tasks: [{name: a, ` + task + `}]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t, annotations: ` + taskAnn + `}
spec: {steps: [{name: s, image: alpine}], sidecars: [{name: proxy, image: alpine}]}
`
	}
	const step = "pipelinerun/ci/pr task=a step=s"
	const sidecar = "pipelinerun/ci/pr task=a sidecar=proxy"
	forbidden := func(subject, kind, name string) want {
		return v(gate.CheckSecurityContext, subject, kind+` "`+name+`" fails Pod Security Standards level "baseline": forbidden AppArmor profile`)
	}
	tests := []struct {
		name    string
		in      string
		verdict gate.Verdict
		wants   []want
	}{{
		name:    "the same profile in the step's securityContext",
		in:      "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineSpec: {tasks: [{name: a, taskSpec: {steps: [{name: s, image: alpine, securityContext: {appArmorProfile: {type: Unconfined}}}]}}]}}\n",
		verdict: gate.VerdictFail, wants: []want{forbidden(step, "step", "s")},
	}, {
		name: "on the PipelineRun", in: run(unconfinedStep, "{}", "{}", "{}", "{}", false),
		verdict: gate.VerdictFail, wants: []want{forbidden(step, "step", "s")},
	}, {
		name: "on the Pipeline", in: run("{}", unconfinedStep, "{}", "{}", "{}", false),
		verdict: gate.VerdictFail, wants: []want{forbidden(step, "step", "s")},
	}, {
		name: "in taskRunSpecs metadata", in: run("{}", "{}", unconfinedStep, "{}", "{}", false),
		verdict: gate.VerdictFail, wants: []want{forbidden(step, "step", "s")},
	}, {
		name: "in the embedded taskSpec's metadata", in: run("{}", "{}", "{}", unconfinedStep, "{}", false),
		verdict: gate.VerdictFail, wants: []want{forbidden(step, "step", "s")},
	}, {
		name: "on the Task", in: run("{}", "{}", "{}", "{}", unconfinedStep, true),
		verdict: gate.VerdictFail, wants: []want{forbidden(step, "step", "s")},
	}, {
		name: "for a sidecar", in: run(unconfinedSidecar, "{}", "{}", "{}", "{}", false),
		verdict: gate.VerdictFail, wants: []want{forbidden(sidecar, "sidecar", "proxy")},
	}, {
		name: "taskRunSpecs win over the PipelineRun", in: run(unconfinedStep, "{}", runtimeDefault, "{}", "{}", false),
		verdict: gate.VerdictPass,
	}, {
		name: "the PipelineRun wins over the Pipeline", in: run(runtimeDefault, unconfinedStep, "{}", "{}", "{}", false),
		verdict: gate.VerdictPass,
	}, {
		name: "the PipelineRun wins over the embedded taskSpec", in: run(runtimeDefault, "{}", "{}", unconfinedStep, "{}", false),
		verdict: gate.VerdictPass,
	}, {
		name: "the TaskRun wins over the Task", in: run(runtimeDefault, "{}", "{}", "{}", unconfinedStep, true),
		verdict: gate.VerdictPass,
	}, {
		name: "for a container the pod does not have: the pod fails", in: run(`{container.apparmor.security.beta.kubernetes.io/step-other: unconfined}`, "{}", "{}", "{}", "{}", false),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckSecurityContext, "pipelinerun/ci/pr task=a", `pod fails Pod Security Standards level "baseline": forbidden AppArmor profile`)},
	}, {
		name: "on a TaskRun", in: "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr, namespace: ci, annotations: " + unconfinedStep + "}\nspec: {taskSpec: {steps: [{name: s, image: alpine}]}}\n",
		verdict: gate.VerdictFail, wants: []want{forbidden("taskrun/ci/tr step=s", "step", "s")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				s.SecurityContext = &v1alpha1.SecurityContextPolicy{Level: v1alpha1.LevelBaseline}
			})
			expect(t, verify(t, s, tt.in, gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
