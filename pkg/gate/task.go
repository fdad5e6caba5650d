package gate

import (
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/names"
)

// stepName is the name Tekton gives a step: its own, or unnamed-<index>.
func stepName(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("unnamed-%d", i)
	}
	return name
}

// container is a step or a sidecar after every merge, ready to check.
type container struct {
	kind string // "step" or "sidecar"
	name string
	// podName is the name of its container in the Pod: Tekton's
	// "step-<name>" or "sidecar-<name>", which pod annotations address.
	podName string
	subject Subject
	step    *v1.Step
	sidecar *v1.Sidecar
}

// stepContainerName is the Pod container name Tekton gives step i.
func stepContainerName(i int, name string) string {
	return names.SimpleNameGenerator.RestrictLength(podStepName(name, i))
}

// sidecarContainerName is the Pod container name Tekton gives a sidecar.
func sidecarContainerName(name string) string {
	return names.SimpleNameGenerator.RestrictLength(sidecarPrefix + name)
}

// sidecarPrefix is what Tekton's pod builder puts before a sidecar's name.
const sidecarPrefix = "sidecar-"

// verifyTaskUnit runs the step checks on one task execution, once per
// matrix combination (identical findings are merged in the report).
func (r *run) verifyTaskUnit(u *taskUnit) {
	combos, err := matrixCombinations(u.matrix)
	if err != nil {
		r.summary.Steps += len(u.spec.Steps)
		r.errorf(CheckInput, u.task, u.base, false, "could not decide: %v", err)
		return
	}
	for ci, combo := range combos {
		params := append(append(v1.Params{}, u.params...), combo...)
		ts, containers, ok := r.expandTask(u, params)
		if ci == 0 {
			r.summary.Steps += len(u.spec.Steps)
		}
		if !ok {
			return
		}
		for _, c := range containers {
			image := ""
			if c.step != nil {
				image = c.step.Image
			} else {
				image = c.sidecar.Image
			}
			r.checkImage(u.task, c.subject, stepWhat(c.kind, c.name), image)
		}
		tpl := applyPodTemplateParams(u.podTemplate, params, ts.Params)
		r.checkSecurityContext(u, ts, containers, tpl)
	}
}

// expandTask substitutes params into the task, resolves and merges its
// StepActions and merges the stepTemplate, in Tekton's order: StepActions
// are resolved first (their params receive the step's values after the
// task's params are substituted into them), then the task's params are
// applied to the whole spec, then the stepTemplate is merged into each step
// when the pod is built. Steps whose StepAction could not be loaded are left
// out (the unresolved finding is already reported).
func (r *run) expandTask(u *taskUnit, params v1.Params) (*v1.TaskSpec, []container, bool) {
	withParams := applyTaskParams(u.spec, params)
	spec := u.spec.DeepCopy()
	loaded := make([]bool, len(spec.Steps))
	for i, st := range u.spec.Steps {
		loaded[i] = true
		if st.Ref == nil {
			continue
		}
		name := stepName(i, st.Name)
		subject := u.base.WithStep(name)
		ref := stepRefRef(withParams.Steps[i].Ref, u.ns, u.pipelineTask, subject)
		if ref.Resolver == bundlesResolver && !r.checkBundleRef(ref, fmt.Sprintf("step %q ref", name), false, u.task, true) {
			loaded[i] = false
			continue
		}
		res := r.resolve(ref, u.task, r.needTaskContent())
		if res == nil {
			loaded[i] = false
			continue
		}
		spec.Steps[i] = mergeStepAction(st, withParams.Steps[i].Params, res.Object.(*v1beta1.StepAction))
	}
	final := applyTaskParams(spec, params)
	steps, err := v1.MergeStepsWithStepTemplate(final.StepTemplate, append([]v1.Step{}, final.Steps...))
	if err != nil {
		r.errorf(CheckInput, u.task, u.base, false, "could not decide: merging the stepTemplate into the steps failed: %v", err)
		return nil, nil, false
	}
	var out []container
	for i := range steps {
		if !loaded[i] {
			continue
		}
		name := stepName(i, steps[i].Name)
		out = append(out, container{kind: "step", name: name, podName: stepContainerName(i, steps[i].Name),
			subject: u.base.WithStep(name), step: &steps[i]})
	}
	for i := range final.Sidecars {
		name := stepName(i, final.Sidecars[i].Name)
		out = append(out, container{kind: "sidecar", name: name, podName: sidecarContainerName(final.Sidecars[i].Name),
			subject: u.base.WithSidecar(name), sidecar: &final.Sidecars[i]})
	}
	return final, out, true
}
