package gate

import (
	"context"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

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
