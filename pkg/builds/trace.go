package builds

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// ErrNotYet marks what the run has not got to yet (a TaskRun not listed
// yet, not finished yet, or not yet handled by Chains): the caller waits and
// asks again; after its timeout, that is "could not decide".
var ErrNotYet = errors.New("not yet")

// Output is one artifact the gate received, traced to where it came from.
type Output struct {
	// Artifact is the value as the gate received it.
	Artifact string
	// Expression is what the pipeline wrote for it, e.g.
	// "$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)".
	Expression string
	// PipelineTasks are the pipeline tasks whose results it is made of,
	// sorted; empty when it is written literally or from parameters.
	PipelineTasks []string
}

// Trace pairs each of values, what the gate's pipeline task gateTask
// received in its array (or string) parameter param, with the expression
// spec (the pipeline as Tekton runs it, status.pipelineSpec) wrote for it.
//
// Elements pair up one to one, except where a whole array result was
// passed ($(tasks.build.results.IMAGES[*])): then every value comes from the
// one task the parameter references. Values that cannot be paired with an
// expression are an error, never a guess.
func Trace(spec *v1.PipelineSpec, gateTask, param string, values []string) ([]Output, error) {
	if spec == nil {
		return nil, fmt.Errorf("the PipelineRun has no status.pipelineSpec yet")
	}
	pt := findTask(spec, gateTask)
	if pt == nil {
		return nil, fmt.Errorf("pipeline task %q not found in status.pipelineSpec", gateTask)
	}
	var written *v1.Param
	for i := range pt.Params {
		if pt.Params[i].Name == param {
			written = &pt.Params[i]
		}
	}
	if written == nil {
		if len(values) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("pipeline task %q sets no param %q, yet %d value(s) arrived", gateTask, param, len(values))
	}
	var exprs []string
	switch written.Value.Type {
	case v1.ParamTypeArray:
		exprs = written.Value.ArrayVal
	case v1.ParamTypeString:
		exprs = []string{written.Value.StringVal}
	default:
		return nil, fmt.Errorf("pipeline task %q: param %q is an object; want an array of images", gateTask, param)
	}

	out := make([]Output, 0, len(values))
	if len(exprs) == len(values) && !slices.ContainsFunc(exprs, wholeArray) {
		for i, v := range values {
			out = append(out, Output{Artifact: v, Expression: exprs[i], PipelineTasks: tasksOf(exprs[i])})
		}
		return out, nil
	}
	// A whole array result expands into any number of values: attribute
	// them only when the parameter names exactly one producing task.
	if len(exprs) == 1 && wholeArray(exprs[0]) {
		tasks := tasksOf(exprs[0])
		if len(tasks) == 1 {
			for _, v := range values {
				out = append(out, Output{Artifact: v, Expression: exprs[0], PipelineTasks: tasks})
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("pipeline task %q: param %q was written as %d element(s) (%s) and arrived as %d value(s): "+
		"cannot tell which task produced which; pass each image as its own element, or one whole array result",
		gateTask, param, len(exprs), strings.Join(exprs, ", "), len(values))
}

func findTask(spec *v1.PipelineSpec, name string) *v1.PipelineTask {
	for _, list := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// refsOf returns the result references in one element, with Tekton's own
// parser.
func refsOf(expr string) []*v1.ResultRef {
	p := v1.Param{Value: *v1.NewStructuredValues(expr)}
	exprs, _ := p.GetVarSubstitutionExpressions()
	return v1.NewResultRefs(exprs)
}

func tasksOf(expr string) []string {
	var out []string
	for _, r := range refsOf(expr) {
		if !slices.Contains(out, r.PipelineTask) {
			out = append(out, r.PipelineTask)
		}
	}
	slices.Sort(out)
	return out
}

// wholeArray reports whether expr is exactly one reference to a whole array
// result, $(tasks.x.results.y[*]).
func wholeArray(expr string) bool {
	e := strings.TrimSpace(expr)
	if !strings.HasPrefix(e, "$(") || !strings.HasSuffix(e, "[*])") || strings.Count(e, "$(") != 1 {
		return false
	}
	return len(refsOf(e)) == 1
}

// Producer returns the TaskRun of pipeline task pipelineTask among the
// children of pr, from taskRuns (the TaskRuns of pr's namespace). It must be
// a child of pr (status.childReferences) controlled by pr (its owner
// reference carries pr's UID): a TaskRun of the same name from another run
// does not count.
func Producer(pr *v1.PipelineRun, pipelineTask string, taskRuns []*v1.TaskRun) (*v1.TaskRun, error) {
	var names []string
	for _, c := range pr.Status.ChildReferences {
		if c.PipelineTaskName == pipelineTask {
			if c.Kind != "" && c.Kind != "TaskRun" {
				return nil, fmt.Errorf("pipeline task %q ran as a %s, not a TaskRun: Chains attests TaskRuns only", pipelineTask, c.Kind)
			}
			names = append(names, c.Name)
		}
	}
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("pipeline task %q has no TaskRun in PipelineRun %s/%s", pipelineTask, pr.Namespace, pr.Name)
	case 1:
	default:
		return nil, fmt.Errorf("pipeline task %q ran as %d TaskRuns (%s): a matrixed build's outputs cannot be told apart",
			pipelineTask, len(names), strings.Join(names, ", "))
	}
	for _, tr := range taskRuns {
		if tr.Name != names[0] || tr.Namespace != pr.Namespace {
			continue
		}
		if controlledBy(tr, pr) {
			return tr, nil
		}
		return nil, fmt.Errorf("TaskRun %s/%s is not controlled by PipelineRun %s/%s (uid %s)", tr.Namespace, tr.Name, pr.Namespace, pr.Name, pr.UID)
	}
	// The PipelineRun names it, so it exists: the caller's copy of the
	// TaskRuns (an informer cache) has not caught up yet.
	return nil, fmt.Errorf("TaskRun %s/%s of pipeline task %q not found: %w", pr.Namespace, names[0], pipelineTask, ErrNotYet)
}
