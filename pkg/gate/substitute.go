package gate

import (
	"fmt"
	"maps"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tkncontainer "github.com/tektoncd/pipeline/pkg/container"
	"github.com/tektoncd/pipeline/pkg/substitution"
)

// Parameter substitution as Tekton's reconcilers do it. Tekton keeps these
// functions in its reconciler packages (pipelinerun/resources and
// taskrun/resources), which also register informers when linked; the
// engine must not link them, so this file restates them on top of the pure
// pieces Tekton exports (the API types' ReplaceVariables, pkg/substitution,
// pkg/container). substitute_test.go compares every function here with
// Tekton's own on generated inputs: a Tekton upgrade that changes them fails
// that test rather than silently judging something Tekton does not run.

// The spellings of a parameter reference. The TaskRun reconciler also
// accepts the v1beta1 form inputs.params.<name>.
var (
	pipelineParamForms = []string{"params.%s", "params[%q]", "params['%s']"}
	taskParamForms     = []string{"params.%s", "params[%q]", "params['%s']", "inputs.params.%s"}
)

// objectKeyForm names one key of an object parameter.
const objectKeyForm = "params.%s.%s"

// maxParamDepth bounds how deep a pipeline parameter default may reference
// other defaults (Tekton's limit).
const maxParamDepth = 10

// replacements are the three maps Tekton's variable substitution takes.
type replacements struct {
	str map[string]string
	arr map[string][]string
	obj map[string]map[string]string
}

func newReplacements() replacements {
	return replacements{str: map[string]string{}, arr: map[string][]string{}, obj: map[string]map[string]string{}}
}

// clone copies the maps (not the values they hold).
func (r replacements) clone() replacements {
	return replacements{str: maps.Clone(r.str), arr: maps.Clone(r.arr), obj: maps.Clone(r.obj)}
}

// addValue records one parameter value under every spelling in forms: a
// string as itself, an array as a whole and element by element, an object
// as a whole and key by key.
func (r replacements) addValue(forms []string, name string, v v1.ParamValue) {
	switch v.Type {
	case v1.ParamTypeArray:
		for _, form := range forms {
			for i, s := range v.ArrayVal {
				r.str[fmt.Sprintf(form+"[%d]", name, i)] = s
			}
			r.arr[fmt.Sprintf(form, name)] = v.ArrayVal
		}
	case v1.ParamTypeObject:
		for _, form := range forms {
			r.obj[fmt.Sprintf(form, name)] = maps.Clone(v.ObjectVal)
		}
		for k, s := range v.ObjectVal {
			r.str[fmt.Sprintf(objectKeyForm, name, k)] = s
		}
	default:
		for _, form := range forms {
			r.str[fmt.Sprintf(form, name)] = v.StringVal
		}
	}
}

// paramReplacements are the values of params under every spelling in forms.
func paramReplacements(forms []string, params v1.Params) replacements {
	r := newReplacements()
	for _, p := range params {
		r.addValue(forms, p.Name, p.Value)
	}
	return r
}

// applyPipelineParams substitutes the PipelineRun's parameter values and the
// pipeline's defaults into the pipeline's tasks, as the PipelineRun
// reconciler does. pr nil: defaults only (a Pipeline verified alone).
// Defaults may reference other parameters; a default that references a
// parameter with no value, a cycle, or a chain deeper than Tekton allows is
// an error, as it fails the run in Tekton. Context variables are left
// alone: an image that depends on one is not known before the run.
func applyPipelineParams(spec *v1.PipelineSpec, pr *v1.PipelineRun) (*v1.PipelineSpec, error) {
	var given v1.Params
	if pr != nil {
		given = pr.Spec.Params
	}
	rep := paramReplacements(pipelineParamForms, given)
	pending := newReplacements()
	for _, ps := range spec.Params {
		if ps.Default == nil {
			continue
		}
		switch ps.Type {
		case v1.ParamTypeString, "":
			if !hasAnyForm(rep.str, ps.Name) {
				addForms(pending.str, ps.Name, ps.Default.StringVal)
			}
		case v1.ParamTypeArray:
			if !hasAnyForm(rep.arr, ps.Name) {
				addForms(pending.arr, ps.Name, ps.Default.ArrayVal)
			}
		case v1.ParamTypeObject:
			if !hasAnyForm(rep.obj, ps.Name) {
				addForms(pending.obj, ps.Name, ps.Default.ObjectVal)
			}
		}
	}
	visiting := map[string]bool{}
	for key, val := range pending.str {
		if _, done := rep.str[key]; done {
			continue
		}
		if err := resolveDefault(key, val, rep.str, pending.str, visiting, 0); err != nil {
			return nil, err
		}
	}
	for key, vals := range pending.arr {
		out := make([]string, len(vals))
		for i, s := range vals {
			out[i] = substitution.ApplyReplacements(s, rep.str)
		}
		rep.arr[key] = out
		for i, s := range out {
			rep.str[fmt.Sprintf("%s[%d]", key, i)] = s
		}
	}
	for key, vals := range pending.obj {
		out := make(map[string]string, len(vals))
		for k, s := range vals {
			out[k] = substitution.ApplyReplacements(s, rep.str)
		}
		rep.obj[key] = out
		for k, s := range out {
			rep.str[key+"."+k] = s
		}
	}
	out := spec.DeepCopy()
	substitutePipelineTasks(out.Tasks, rep)
	substitutePipelineTasks(out.Finally, rep)
	return out, nil
}

func hasAnyForm[T any](m map[string]T, name string) bool {
	for _, form := range pipelineParamForms {
		if _, ok := m[fmt.Sprintf(form, name)]; ok {
			return true
		}
	}
	return false
}

func addForms[T any](m map[string]T, name string, v T) {
	for _, form := range pipelineParamForms {
		m[fmt.Sprintf(form, name)] = v
	}
}

// resolveDefault resolves the string default val of key, first resolving
// the defaults it references (depth-first, at most maxParamDepth deep).
func resolveDefault(key, val string, resolved, pending map[string]string, visiting map[string]bool, depth int) error {
	if visiting[key] {
		return fmt.Errorf("parameter %q: its default references itself through other defaults", key)
	}
	visiting[key] = true
	defer delete(visiting, key)
	if depth > maxParamDepth {
		return fmt.Errorf("parameter %q: defaults reference each other more than %d deep", key, maxParamDepth)
	}
	refs := paramRefs(val)
	if len(refs) == 0 {
		resolved[key] = val
		return nil
	}
	for _, ref := range refs {
		if _, ok := resolved[ref]; ok {
			continue
		}
		next, ok := pending[ref]
		if !ok {
			return fmt.Errorf("parameter %q: its default references %q, which has no value", key, ref)
		}
		if err := resolveDefault(ref, next, resolved, pending, visiting, depth+1); err != nil {
			return err
		}
	}
	resolved[key] = substitution.ApplyReplacements(val, resolved)
	return nil
}

// paramRefs lists the params.<…> expressions in s.
func paramRefs(s string) []string {
	p := v1.Param{Value: *v1.NewStructuredValues(s)}
	exprs, ok := p.GetVarSubstitutionExpressions()
	if !ok {
		return nil
	}
	var out []string
	for _, e := range exprs {
		if strings.HasPrefix(e, "params.") {
			out = append(out, e)
		}
	}
	return out
}

// substitutePipelineTasks substitutes rep into the fields of each pipeline
// task Tekton substitutes, and into embedded task specs with the pipeline
// task's own params taking precedence over the pipeline's.
func substitutePipelineTasks(tasks []v1.PipelineTask, rep replacements) {
	for i := range tasks {
		t := &tasks[i]
		t.Params = t.Params.ReplaceVariables(rep.str, rep.arr, rep.obj)
		if t.IsMatrixed() {
			t.Matrix.Params = t.Matrix.Params.ReplaceVariables(rep.str, rep.arr, nil)
			for j := range t.Matrix.Include {
				t.Matrix.Include[j].Params = t.Matrix.Include[j].Params.ReplaceVariables(rep.str, nil, nil)
			}
		} else {
			t.DisplayName = substitution.ApplyReplacements(t.DisplayName, rep.str)
		}
		for j := range t.Workspaces {
			t.Workspaces[j].SubPath = substitution.ApplyReplacements(t.Workspaces[j].SubPath, rep.str)
		}
		t.When = t.When.ReplaceVariables(rep.str, rep.arr)
		if t.TaskRef != nil {
			if t.TaskRef.Params != nil {
				t.TaskRef.Params = t.TaskRef.Params.ReplaceVariables(rep.str, rep.arr, rep.obj)
			}
			t.TaskRef.Name = substitution.ApplyReplacements(t.TaskRef.Name, rep.str)
		}
		t.OnError = v1.PipelineTaskOnErrorType(substitution.ApplyReplacements(string(t.OnError), rep.str))
		if t.TaskSpec != nil {
			t.TaskSpec.TaskSpec = *substituteTaskSpec(&t.TaskSpec.TaskSpec, scoped(rep, t.Params))
		}
	}
}

// scoped is rep with the pipeline task's params in place of pipeline params
// of the same name (only names rep already has).
func scoped(rep replacements, params v1.Params) replacements {
	if len(params) == 0 {
		return rep
	}
	out := rep.clone()
	for _, p := range params {
		for _, form := range pipelineParamForms {
			key := fmt.Sprintf(form, p.Name)
			if _, ok := out.str[key]; ok {
				out.str[key] = p.Value.StringVal
			}
			if _, ok := out.arr[key]; ok {
				out.arr[key] = p.Value.ArrayVal
			}
			if _, ok := out.obj[key]; ok {
				out.obj[key] = p.Value.ObjectVal
				for k, s := range p.Value.ObjectVal {
					out.str[fmt.Sprintf(objectKeyForm, p.Name, k)] = s
				}
			}
		}
	}
	return out
}

// taskParamReplacements are what the TaskRun reconciler substitutes into a
// task: the defaults of specs, then the values in params over them (an
// object value merged key by key into its default).
func taskParamReplacements(params v1.Params, specs v1.ParamSpecs) replacements {
	rep := taskDefaults(specs)
	given := paramReplacements(taskParamForms, params)
	maps.Copy(rep.str, given.str)
	maps.Copy(rep.arr, given.arr)
	for key, vals := range given.obj {
		for k, s := range vals {
			if rep.obj[key] == nil {
				rep.obj[key] = vals
			} else {
				rep.obj[key][k] = s
			}
		}
	}
	return rep
}

// taskDefaults are the replacements of task parameter defaults. A string
// default that references another parameter takes that parameter's plain
// default, substituted for one reference as Tekton does (the last one it
// finds a value for).
func taskDefaults(specs v1.ParamSpecs) replacements {
	rep := newReplacements()
	for _, ps := range specs {
		if ps.Default != nil && !strings.Contains(ps.Default.StringVal, "$(params.") {
			rep.addValue(taskParamForms, ps.Name, *ps.Default)
		}
	}
	for _, ps := range specs {
		if ps.Default == nil || !strings.Contains(ps.Default.StringVal, "$(params.") {
			continue
		}
		exprs, _ := substitution.ExtractVariableExpressions(ps.Default.StringVal, "params")
		for _, expr := range exprs {
			ref := strings.TrimSuffix(strings.TrimPrefix(expr, "$(params."), ")")
			for _, form := range taskParamForms {
				v, ok := rep.str[fmt.Sprintf(form, ref)]
				if !ok {
					continue
				}
				resolved := strings.ReplaceAll(ps.Default.StringVal, expr, v)
				for _, own := range taskParamForms {
					rep.str[fmt.Sprintf(own, ps.Name)] = resolved
				}
				break
			}
		}
	}
	return rep
}

// applyTaskParams substitutes params (a TaskRun's or a pipeline task's,
// including one matrix combination) and the task's defaults, as the TaskRun
// reconciler does.
func applyTaskParams(ts *v1.TaskSpec, params v1.Params) *v1.TaskSpec {
	return substituteTaskSpec(ts, taskParamReplacements(params, ts.Params))
}

// substituteTaskSpec substitutes rep into the fields of a task Tekton
// substitutes: steps (and their StepAction params), the stepTemplate,
// volumes, workspace mount paths and sidecars.
func substituteTaskSpec(ts *v1.TaskSpec, rep replacements) *v1.TaskSpec {
	spec := ts.DeepCopy()
	for i := range spec.Steps {
		if spec.Steps[i].Params != nil {
			spec.Steps[i].Params = spec.Steps[i].Params.ReplaceVariables(rep.str, rep.arr, rep.obj)
		}
		tkncontainer.ApplyStepReplacements(&spec.Steps[i], rep.str, rep.arr)
	}
	if spec.StepTemplate != nil {
		tkncontainer.ApplyStepTemplateReplacements(spec.StepTemplate, rep.str, rep.arr)
	}
	for i := range spec.Volumes {
		substituteVolume(&spec.Volumes[i], rep.str)
	}
	for i := range spec.Workspaces {
		spec.Workspaces[i].MountPath = substitution.ApplyReplacements(spec.Workspaces[i].MountPath, rep.str)
	}
	for i := range spec.Sidecars {
		tkncontainer.ApplySidecarReplacements(&spec.Sidecars[i], rep.str, rep.arr)
	}
	return spec
}
