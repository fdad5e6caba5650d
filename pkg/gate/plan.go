package gate

import (
	"context"
	"fmt"
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
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
}

// planRoots sorts the given objects and verifies each root: every
// PipelineRun and TaskRun, and every Pipeline and Task that no given run
// (or given pipeline) references by name. A Pipeline or Task that is
// referenced is verified through its run, with the run's parameters, and
// not a second time alone with its defaults.
func (r *run) planRoots(objs []runtime.Object) {
	in := r.sortInputs(objs)
	refPipelines := map[string]bool{}
	refTasks := map[string]bool{}
	addPipelineTasks := func(ps *v1.PipelineSpec) {
		if ps == nil {
			return
		}
		for _, pt := range append(append([]v1.PipelineTask{}, ps.Tasks...), ps.Finally...) {
			if pt.TaskRef != nil {
				refTasks[refName(pt.TaskRef.Name, pt.TaskRef.ResolverRef)] = true
			}
		}
	}
	for _, pr := range in.pipelineRuns {
		if ref := pr.Spec.PipelineRef; ref != nil {
			refPipelines[refName(ref.Name, ref.ResolverRef)] = true
		}
		addPipelineTasks(pr.Spec.PipelineSpec)
	}
	for _, tr := range in.taskRuns {
		if ref := tr.Spec.TaskRef; ref != nil {
			refTasks[refName(ref.Name, ref.ResolverRef)] = true
		}
	}
	for _, p := range in.pipelines {
		addPipelineTasks(&p.Spec)
	}
	for _, pr := range in.pipelineRuns {
		r.verifyPipelineRun(pr)
	}
	for _, tr := range in.taskRuns {
		r.verifyTaskRun(tr)
	}
	for _, p := range in.pipelines {
		if !refPipelines[p.Name] {
			r.verifyPipeline(p)
		}
	}
	for _, t := range in.tasks {
		if !refTasks[t.Name] {
			r.verifyTask(t)
		}
	}
}

// refName is the name a reference points at: its name, or the `name`
// param of a bundle reference (a Pipeline given next to a run that reads
// it from a bundle is usually the bundle's source: verifying it a second
// time alone, with defaults, would only repeat findings).
func refName(name string, rr v1.ResolverRef) string {
	if rr.Resolver == bundlesResolver {
		if n := resolverParams(rr.Params)["name"]; n != "" {
			return n
		}
	}
	return name
}

func (r *run) sortInputs(objs []runtime.Object) inputs {
	var in inputs
	ctx := context.Background()
	for i, obj := range objs {
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
			// Only ever referenced by steps.
		case *v1beta1.PipelineRun:
			out := &v1.PipelineRun{}
			if r.convert(i, o.ConvertTo(ctx, out)) {
				in.pipelineRuns = append(in.pipelineRuns, out)
			}
		case *v1beta1.TaskRun:
			out := &v1.TaskRun{}
			if r.convert(i, o.ConvertTo(ctx, out)) {
				in.taskRuns = append(in.taskRuns, out)
			}
		case *v1beta1.Pipeline:
			out := &v1.Pipeline{}
			if r.convert(i, o.ConvertTo(ctx, out)) {
				in.pipelines = append(in.pipelines, out)
			}
		case *v1beta1.Task:
			out := &v1.Task{}
			if r.convert(i, o.ConvertTo(ctx, out)) {
				in.tasks = append(in.tasks, out)
			}
		default:
			r.errorf(CheckInput, "", fmt.Sprintf("object %d", i), false,
				"could not decide: unsupported object %T: want a PipelineRun, TaskRun, Pipeline, Task or StepAction", obj)
		}
	}
	return in
}

func (r *run) convert(i int, err error) bool {
	if err != nil {
		r.errorf(CheckInput, "", fmt.Sprintf("object %d", i), false, "could not decide: converting to tekton.dev/v1 failed: %v", err)
		return false
	}
	return true
}

// runSubject is "<kind>/<namespace>/<name>", or "<kind>/<name>" when the
// object has no namespace.
func runSubject(kind, ns, name string) string {
	if ns == "" {
		return kind + "/" + name
	}
	return kind + "/" + ns + "/" + name
}

// pipelineCtx is what the tasks of one pipeline share.
type pipelineCtx struct {
	base       string
	ns         string
	pr         *v1.PipelineRun // nil for a Pipeline verified alone
	meta       metav1.ObjectMeta
	fromBundle bool
}

func (r *run) verifyPipelineRun(pr *v1.PipelineRun) {
	base := runSubject("pipelinerun", pr.Namespace, pr.Name)
	r.checkNamespace(base, pr.Namespace, "PipelineRun")
	var spec *v1.PipelineSpec
	fromBundle := false
	// The legacy-bundle annotation of an embedded pipelineSpec's tasks is on
	// the PipelineRun; of a referenced pipeline's tasks, on the Pipeline.
	meta := pr.ObjectMeta
	switch {
	case pr.Spec.PipelineSpec != nil:
		spec = pr.Spec.PipelineSpec
		if r.bundlesRequired() {
			r.violation(CheckBundle, "", base, "spec.pipelineSpec is embedded, not read from a Tekton bundle: bundles.required wants spec.pipelineRef with resolver: bundles")
		}
	case pr.Spec.PipelineRef != nil:
		pref := pr.Spec.PipelineRef.DeepCopy()
		pref.Params = withRunParams(pref.Params, pr.Spec.Params)
		ref := pipelineRefRef(pref, pr.Namespace, base)
		legacy := isLegacyBundle(pr.ObjectMeta, LegacyBundleKeyPipelineRef)
		if !r.checkBundleRef(ref, "spec.pipelineRef", legacy, "", false) {
			return
		}
		res := r.resolve(ref, "", r.needPipelineContent())
		if res == nil {
			return
		}
		spec = &res.Object.(*v1.Pipeline).Spec
		meta = res.Object.(*v1.Pipeline).ObjectMeta
		fromBundle = ref.Bundle != ""
	default:
		r.finding(needSeverity(r.needPipelineContent()), CheckUnresolved, "", base, "PipelineRun has neither spec.pipelineRef nor spec.pipelineSpec: nothing to verify")
		return
	}
	r.summary.Pipelines++
	applied, err := applyPipelineParams(spec, pr)
	if err != nil {
		r.errorf(CheckInput, "", base, false, "could not decide: applying the PipelineRun's parameters to the pipeline failed: %v", err)
		return
	}
	r.verifyPipelineSpec(pipelineCtx{base: base, ns: pr.Namespace, pr: pr, meta: meta, fromBundle: fromBundle}, applied)
}

func (r *run) verifyPipeline(p *v1.Pipeline) {
	base := runSubject("pipeline", "", p.Name)
	r.summary.Pipelines++
	applied, err := applyPipelineParams(&p.Spec, nil)
	if err != nil {
		r.errorf(CheckInput, "", base, false, "could not decide: applying the pipeline's parameter defaults failed: %v", err)
		return
	}
	r.verifyPipelineSpec(pipelineCtx{base: base, ns: p.Namespace, meta: p.ObjectMeta}, applied)
}

func (r *run) verifyPipelineSpec(pc pipelineCtx, spec *v1.PipelineSpec) {
	r.checkGateOrder(pc.base, spec)
	all := append(append([]v1.PipelineTask{}, spec.Tasks...), spec.Finally...)
	var bundles []Ref
	for _, pt := range all {
		if pt.TaskRef != nil && pt.TaskRef.Resolver == bundlesResolver {
			ref := taskRefRef(pt.TaskRef, pc.ns, pt.Name, pc.base+" task="+pt.Name)
			if plausibleBundle(ref) {
				bundles = append(bundles, ref)
			}
		}
	}
	r.prepareBundles(bundles)
	for _, pt := range all {
		if r.ctx.Err() != nil {
			return
		}
		r.verifyPipelineTask(pc, pt)
	}
}

func (r *run) verifyPipelineTask(pc pipelineCtx, pt v1.PipelineTask) {
	subject := pc.base + " task=" + pt.Name
	r.summary.Tasks++
	gate := r.isGateTask(pt)
	if pt.PipelineRef != nil || pt.PipelineSpec != nil {
		r.finding(needSeverity(r.needPipelineContent()), CheckUnresolved, pt.Name, subject,
			"pipeline task runs a pipeline (pipelines in pipelines), which this version cannot verify%s", neededSuffix(r.needPipelineContent()))
		return
	}
	var spec *v1.TaskSpec
	switch {
	case pt.TaskRef != nil:
		if pt.TaskRef.IsCustomTask() || !isTektonTaskKind(string(pt.TaskRef.Kind)) {
			if !gate {
				r.warning(CheckUnresolved, pt.Name, subject, "custom task (apiVersion %q, kind %q) has no steps to inspect", pt.TaskRef.APIVersion, pt.TaskRef.Kind)
			}
			return
		}
		ref := taskRefRef(pt.TaskRef, pc.ns, pt.Name, subject)
		legacy := isLegacyBundle(pc.meta, LegacyBundleKeyPipelineTask(pt.Name))
		if !r.checkBundleRef(ref, "taskRef", legacy, pt.Name, gate) {
			return
		}
		res := r.resolve(ref, pt.Name, r.needTaskContent())
		if res == nil {
			return
		}
		spec = &res.Object.(*v1.Task).Spec
	case pt.TaskSpec != nil:
		if pt.TaskSpec.IsCustomTask() {
			if !gate {
				r.warning(CheckUnresolved, pt.Name, subject, "custom task (apiVersion %q, kind %q) has no steps to inspect", pt.TaskSpec.APIVersion, pt.TaskSpec.Kind)
			}
			return
		}
		if r.bundlesRequired() && !pc.fromBundle && !gate {
			r.violation(CheckBundle, pt.Name, subject, "taskSpec is embedded, not read from a Tekton bundle: bundles.required wants taskRef with resolver: bundles")
		}
		spec = &pt.TaskSpec.TaskSpec
	default:
		r.finding(needSeverity(r.needTaskContent()), CheckUnresolved, pt.Name, subject, "pipeline task has neither taskRef nor taskSpec: nothing to verify")
		return
	}
	u := &taskUnit{base: subject, task: pt.Name, ns: pc.ns, pipelineTask: pt.Name, spec: spec, params: pt.Params, matrix: pt.Matrix}
	if pc.pr != nil {
		u.podTemplate = pc.pr.GetTaskRunSpec(pt.Name).PodTemplate
	}
	r.verifyTaskUnit(u)
}

func (r *run) verifyTaskRun(tr *v1.TaskRun) {
	base := runSubject("taskrun", tr.Namespace, tr.Name)
	r.checkNamespace(base, tr.Namespace, "TaskRun")
	r.summary.Tasks++
	var spec *v1.TaskSpec
	switch {
	case tr.Spec.TaskSpec != nil:
		spec = tr.Spec.TaskSpec
		if r.bundlesRequired() {
			r.violation(CheckBundle, tr.Name, base, "spec.taskSpec is embedded, not read from a Tekton bundle: bundles.required wants spec.taskRef with resolver: bundles")
		}
	case tr.Spec.TaskRef != nil:
		if tr.Spec.TaskRef.IsCustomTask() || !isTektonTaskKind(string(tr.Spec.TaskRef.Kind)) {
			r.warning(CheckUnresolved, tr.Name, base, "custom task (apiVersion %q, kind %q) has no steps to inspect", tr.Spec.TaskRef.APIVersion, tr.Spec.TaskRef.Kind)
			return
		}
		tref := tr.Spec.TaskRef.DeepCopy()
		tref.Params = withRunParams(tref.Params, tr.Spec.Params)
		ref := taskRefRef(tref, tr.Namespace, "", base)
		legacy := isLegacyBundle(tr.ObjectMeta, LegacyBundleKeyTaskRef)
		if !r.checkBundleRef(ref, "spec.taskRef", legacy, tr.Name, false) {
			return
		}
		res := r.resolve(ref, tr.Name, r.needTaskContent())
		if res == nil {
			return
		}
		spec = &res.Object.(*v1.Task).Spec
	default:
		r.finding(needSeverity(r.needTaskContent()), CheckUnresolved, tr.Name, base, "TaskRun has neither spec.taskRef nor spec.taskSpec: nothing to verify")
		return
	}
	r.verifyTaskUnit(&taskUnit{base: base, task: tr.Name, ns: tr.Namespace, spec: spec, params: tr.Spec.Params, podTemplate: tr.Spec.PodTemplate})
}

func (r *run) verifyTask(t *v1.Task) {
	base := runSubject("task", "", t.Name)
	r.summary.Tasks++
	r.verifyTaskUnit(&taskUnit{base: base, task: t.Name, ns: t.Namespace, spec: &t.Spec})
}

// isTektonTaskKind: a taskRef kind that names a Tekton Task (ClusterTask
// was removed from Tekton but older YAML still carries it).
func isTektonTaskKind(kind string) bool {
	return kind == "" || kind == "Task" || kind == "ClusterTask"
}

// plausibleBundle: worth pinning ahead of time (checkBundleRef reports the
// rest when the task is visited).
func plausibleBundle(ref Ref) bool {
	return ref.Bundle != "" && ref.Name != "" && !strings.Contains(ref.Bundle, "$(")
}

// taskUnit is one task execution to verify.
type taskUnit struct {
	// base is the subject prefix: "pipelinerun/ns/pr task=build",
	// "taskrun/ns/tr", "task/name".
	base string
	// task groups findings: the pipeline task's name, or the run's or
	// task's name.
	task         string
	ns           string
	pipelineTask string
	spec         *v1.TaskSpec // before substitution
	params       v1.Params
	matrix       *v1.Matrix
	podTemplate  *pod.Template
}
