package gate

import (
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// inputs are the given objects by kind, v1beta1 converted to v1.
type inputs struct {
	pipelineRuns []*v1.PipelineRun
	taskRuns     []*v1.TaskRun
	pipelines    []*v1.Pipeline
	tasks        []*v1.Task
	stepActions  []*v1beta1.StepAction
}

// planRoots sorts the given objects and verifies each root: every
// PipelineRun and TaskRun first, then every Pipeline, Task and StepAction
// that nothing verified so far used. An object counts as used when a
// reference by name resolved to it, which matches by namespace and name as
// the Resolver does, never by name alone: a Task "build" of namespace "a"
// is not what a run in namespace "b" runs, so it is verified on its own.
// Objects are verified alone with their parameter defaults; what they
// reference in turn counts as used. Nothing given is left unjudged.
func (r *run) planRoots(objs []runtime.Object, live bool) {
	in := r.sortInputs(objs)
	for _, pr := range in.pipelineRuns {
		r.verifyPipelineRun(pr, live)
	}
	for _, tr := range in.taskRuns {
		r.verifyTaskRun(tr)
	}
	for _, p := range in.pipelines {
		if !r.used[usedKey(KindPipeline, p.Namespace, p.Name)] {
			r.verifyPipeline(p)
		}
	}
	for _, t := range in.tasks {
		if !r.used[usedKey(KindTask, t.Namespace, t.Name)] {
			r.verifyTask(t)
		}
	}
	for _, sa := range in.stepActions {
		if !r.used[usedKey(KindStepAction, sa.Namespace, sa.Name)] {
			r.verifyStepAction(sa)
		}
	}
}

// usedKey names a given object by kind, namespace and name.
func usedKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// markUsed records that a reference by name resolved to obj.
func (r *run) markUsed(kind string, obj runtime.Object) {
	if o, ok := obj.(metav1.Object); ok {
		r.used[usedKey(kind, o.GetNamespace(), o.GetName())] = true
	}
}

func (r *run) sortInputs(objs []runtime.Object) inputs {
	var in inputs
	for i, obj := range objs {
		obj, err := ToV1(obj)
		if err != nil {
			r.errorf(CheckInput, "", TextSubject(fmt.Sprintf("object %d", i)), false, "could not decide: %v", err)
			continue
		}
		switch o := obj.(type) {
		case *v1.PipelineRun:
			in.pipelineRuns = append(in.pipelineRuns, o)
		case *v1.TaskRun:
			in.taskRuns = append(in.taskRuns, o)
		case *v1.Pipeline:
			in.pipelines = append(in.pipelines, o)
		case *v1.Task:
			in.tasks = append(in.tasks, o)
		case *v1beta1.StepAction:
			in.stepActions = append(in.stepActions, o)
		default:
			r.errorf(CheckInput, "", TextSubject(fmt.Sprintf("object %d", i)), false,
				"could not decide: unsupported object %T: want a PipelineRun, TaskRun, Pipeline, Task or StepAction", obj)
		}
	}
	return in
}

// verifyStepAction checks a StepAction no verified step referenced, as the
// one step of a task, with its parameter defaults: its image and its
// securityContext are what any step using it would run.
func (r *run) verifyStepAction(sa *v1beta1.StepAction) {
	base := ObjectSubject("stepaction", sa.Namespace, sa.Name)
	r.summary.Tasks++
	step := mergeStepAction(v1.Step{Name: sa.Name}, nil, sa)
	r.verifyTaskUnit(&taskUnit{base: base, task: sa.Name, ns: sa.Namespace,
		spec: &v1.TaskSpec{Steps: []v1.Step{step}}})
}
