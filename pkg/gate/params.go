package gate

import (
	"context"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	presources "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	tresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
)

// maxMatrixCombinations mirrors Tekton's default max-matrix-combinations-count:
// a larger matrix is rejected by Tekton, so nothing beyond it ever runs.
const maxMatrixCombinations = 256

// applyPipelineParams substitutes the PipelineRun's parameter values and the
// pipeline's defaults with Tekton's own code. pr nil: defaults only (a
// Pipeline verified alone). Context variables are deliberately left alone:
// an image that depends on one is not known before the run.
func applyPipelineParams(spec *v1.PipelineSpec, pr *v1.PipelineRun) (*v1.PipelineSpec, error) {
	if pr == nil {
		pr = &v1.PipelineRun{}
	}
	return presources.ApplyParameters(spec.DeepCopy(), pr)
}

// applyTaskParams substitutes params (a TaskRun's or a pipeline task's,
// including one matrix combination) and the task's defaults, as the TaskRun
// reconciler does.
func applyTaskParams(ts *v1.TaskSpec, params v1.Params) *v1.TaskSpec {
	tr := &v1.TaskRun{Spec: v1.TaskRunSpec{Params: params}}
	return tresources.ApplyParameters(ts, tr, ts.Params...)
}

// matrixCombinations returns the parameter sets a matrixed pipeline task
// runs with. When every matrix value is known (after the pipeline's
// parameters are applied) it is Tekton's own fan-out. A value that is not
// known before the run (a task result) cannot be expanded: such a parameter
// is passed on as its unresolved expression, so any image built from it is
// reported as image-reference, never verified with a guessed value. Known
// parameters next to unknown ones are still expanded; `include` entries are
// then ignored (documented limitation).
func matrixCombinations(m *v1.Matrix) []v1.Params {
	if m == nil || (!m.HasParams() && !m.HasInclude()) {
		return []v1.Params{nil}
	}
	var known, unknown v1.Params
	for _, p := range m.Params {
		if expr := paramExpr(p.Value); expr != "" || p.Value.Type != v1.ParamTypeArray {
			if expr == "" {
				expr = p.Value.StringVal
			}
			unknown = append(unknown, v1.Param{Name: p.Name, Value: *v1.NewStructuredValues(expr)})
			continue
		}
		known = append(known, p)
	}
	includeKnown := true
	for _, inc := range m.Include {
		for _, p := range inc.Params {
			if paramExpr(p.Value) != "" {
				includeKnown = false
			}
		}
	}
	if len(unknown) == 0 && includeKnown {
		combos := m.FanOut()
		if len(combos) > maxMatrixCombinations {
			combos = combos[:maxMatrixCombinations]
		}
		if len(combos) == 0 {
			return []v1.Params{nil}
		}
		return combos
	}
	if !includeKnown {
		for _, inc := range m.Include {
			for _, p := range inc.Params {
				if expr := paramExpr(p.Value); expr != "" {
					unknown = append(unknown, v1.Param{Name: p.Name, Value: *v1.NewStructuredValues(expr)})
				}
			}
		}
	}
	combos := []v1.Params{nil}
	if len(known) > 0 {
		combos = (&v1.Matrix{Params: known}).FanOut()
		if len(combos) > maxMatrixCombinations {
			combos = combos[:maxMatrixCombinations]
		}
	}
	out := make([]v1.Params, 0, len(combos))
	for _, c := range combos {
		out = append(out, append(append(v1.Params{}, c...), unknown...))
	}
	return out
}

// paramExpr returns the first unresolved expression in a param value.
func paramExpr(v v1.ParamValue) string {
	switch v.Type {
	case v1.ParamTypeArray:
		for _, s := range v.ArrayVal {
			if e := unresolvedExpr(s); e != "" {
				return e
			}
		}
	case v1.ParamTypeObject:
		for _, s := range v.ObjectVal {
			if e := unresolvedExpr(s); e != "" {
				return e
			}
		}
	default:
		return unresolvedExpr(v.StringVal)
	}
	return ""
}

// mergeStepAction merges a resolved StepAction into the step that references
// it, the way Tekton's TaskRun reconciler does (resolveStepRef in
// pkg/reconciler/taskrun/resources): the StepAction's params get the step's
// values (already substituted with the task's params) over their defaults,
// then image, securityContext and workingDir always come from the
// StepAction, command/args/script/env/volumeMounts/results when it sets them.
func mergeStepAction(step v1.Step, stepParams v1.Params, sa *v1beta1.StepAction) v1.Step {
	spec := sa.Spec.DeepCopy()
	spec.SetDefaults(context.Background())
	fromAction := spec.ToStep()
	applied := applyTaskParams(&v1.TaskSpec{Steps: []v1.Step{*fromAction}, Params: spec.Params}, stepParams)
	s := applied.Steps[0]
	out := *step.DeepCopy()
	out.Image = s.Image
	out.SecurityContext = s.SecurityContext
	if len(s.Command) > 0 {
		out.Command = s.Command
	}
	if len(s.Args) > 0 {
		out.Args = s.Args
	}
	if s.Script != "" {
		out.Script = s.Script
	}
	out.WorkingDir = s.WorkingDir
	if s.Env != nil {
		out.Env = s.Env
	}
	if len(s.VolumeMounts) > 0 {
		out.VolumeMounts = s.VolumeMounts
	}
	if len(s.Results) > 0 {
		out.Results = s.Results
	}
	out.Ref = nil
	out.Params = nil
	return out
}

// withRunParams substitutes a run's string parameter values into the
// resolver params of its pipelineRef or taskRef, as Tekton does before it
// resolves them (a bundle given as $(params.bundle), say). Parameter
// defaults of the referenced object cannot apply: it is not loaded yet.
func withRunParams(ps v1.Params, run v1.Params) v1.Params {
	if len(ps) == 0 || len(run) == 0 {
		return ps
	}
	m := map[string]string{}
	for _, p := range run {
		if p.Value.Type != v1.ParamTypeString && p.Value.Type != "" {
			continue
		}
		m["params."+p.Name] = p.Value.StringVal
		m[`params["`+p.Name+`"]`] = p.Value.StringVal
		m["params['"+p.Name+"']"] = p.Value.StringVal
	}
	return ps.ReplaceVariables(m, nil, nil)
}
