package gate

import (
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pipelineCtx is what the tasks of one pipeline share.
type pipelineCtx struct {
	base Subject
	ns   string
	pr   *v1.PipelineRun // nil for a Pipeline verified alone
	// meta is the PipelineRun's metadata with the Pipeline's merged in, as
	// Tekton passes it on to every TaskRun (the Pipeline's alone when it is
	// verified alone).
	meta runMeta
	// legacy holds the legacy-bundle annotation of the pipeline's tasks:
	// the PipelineRun's for an embedded pipelineSpec, the Pipeline's for a
	// referenced one.
	legacy     metav1.ObjectMeta
	fromBundle bool
}

// verifyPipelineRun judges what a PipelineRun runs. For a live run that is
// status.pipelineSpec, the copy Tekton recorded and runs whatever happens
// to the Pipeline it came from; the pipelineRef is then only checked for
// the bundle rules and the signature of the bundle Tekton read. For a run
// given as a file it is the referenced or embedded pipeline.
//
// status.pipelineSpec has the run's parameters and context variables
// substituted already. Applying the parameters again is what Tekton itself
// does on every later reconcile (it re-reads status.pipelineSpec and calls
// ApplyParameters before it creates the TaskRuns after the gate), so the
// engine does the same and judges exactly what those TaskRuns receive.
func (r *run) verifyPipelineRun(pr *v1.PipelineRun, live bool) {
	base := ObjectSubject("pipelinerun", pr.Namespace, pr.Name)
	r.checkNamespace(base, pr.Namespace, "PipelineRun")
	var recorded *v1.PipelineSpec
	if live {
		if pr.Status.PipelineSpec == nil {
			r.errorf(CheckInput, "", base, true,
				"could not decide: Tekton has not recorded status.pipelineSpec yet, so what the run will execute is not known")
			return
		}
		recorded = pr.Status.PipelineSpec
	}
	spec := recorded
	pc := pipelineCtx{base: base, ns: pr.Namespace, pr: pr, meta: metaOf(pr.ObjectMeta), legacy: pr.ObjectMeta}
	switch {
	case pr.Spec.PipelineSpec != nil:
		if spec == nil {
			spec = pr.Spec.PipelineSpec
		}
		if r.bundlesRequired() {
			r.violation(CheckBundle, "", base, "spec.pipelineSpec is embedded, not read from a Tekton bundle: bundles.required wants spec.pipelineRef with resolver: bundles")
		}
	case pr.Spec.PipelineRef != nil:
		pref := pr.Spec.PipelineRef.DeepCopy()
		pref.Params = withRunParams(pref.Params, pr.Spec.Params)
		ref := pipelineRefRef(pref, pr.Namespace, base)
		legacy := isLegacyBundle(pr.ObjectMeta, LegacyBundleKeyPipelineRef)
		wellFormed := r.checkBundleRef(ref, "spec.pipelineRef", legacy, "", false)
		pc.fromBundle = ref.Bundle != ""
		if recorded != nil {
			// The content is the recorded copy; the bundle it came from
			// must still be signed (findings are reported by pinBundle).
			if wellFormed && ref.Bundle != "" {
				r.pinBundle(ref, "")
			}
			break
		}
		if !wellFormed {
			return
		}
		res := r.resolve(ref, "", r.needPipelineContent())
		if res == nil {
			return
		}
		p := res.Object.(*v1.Pipeline)
		spec = &p.Spec
		pc.meta = pc.meta.withPipeline(p.ObjectMeta)
		pc.legacy = p.ObjectMeta
	case recorded == nil:
		r.finding(needSeverity(r.needPipelineContent()), CheckUnresolved, "", base, "PipelineRun has neither spec.pipelineRef nor spec.pipelineSpec: nothing to verify")
		return
	}
	r.summary.Pipelines++
	applied, err := applyPipelineParams(spec, pr)
	if err != nil {
		r.errorf(CheckInput, "", base, false, "could not decide: applying the PipelineRun's parameters to the pipeline failed: %v", err)
		return
	}
	r.verifyPipelineSpec(pc, applied)
}

func (r *run) verifyPipeline(p *v1.Pipeline) {
	base := ObjectSubject("pipeline", p.Namespace, p.Name)
	r.summary.Pipelines++
	applied, err := applyPipelineParams(&p.Spec, nil)
	if err != nil {
		r.errorf(CheckInput, "", base, false, "could not decide: applying the pipeline's parameter defaults failed: %v", err)
		return
	}
	r.verifyPipelineSpec(pipelineCtx{base: base, ns: p.Namespace, meta: metaOf(p.ObjectMeta), legacy: p.ObjectMeta}, applied)
}

func (r *run) verifyPipelineSpec(pc pipelineCtx, spec *v1.PipelineSpec) {
	r.checkGateOrder(pc.base, spec)
	all := append(append([]v1.PipelineTask{}, spec.Tasks...), spec.Finally...)
	var bundles []Ref
	for _, pt := range all {
		if pt.TaskRef != nil && pt.TaskRef.Resolver == bundlesResolver {
			ref := taskRefRef(pt.TaskRef, pc.ns, pt.Name, pc.base.WithTask(pt.Name))
			if plausibleBundle(ref) {
				bundles = append(bundles, ref)
			}
		}
	}
	r.prepareBundles(bundles)
	for i, pt := range all {
		if r.ctx.Err() != nil {
			return
		}
		r.verifyPipelineTask(pc, pt, i >= len(spec.Tasks))
	}
}

func (r *run) verifyPipelineTask(pc pipelineCtx, pt v1.PipelineTask, finally bool) {
	subject := pc.base.WithTask(pt.Name)
	r.summary.Tasks++
	gate := r.isGateTask(pt)
	if pt.PipelineRef != nil || pt.PipelineSpec != nil {
		r.finding(needSeverity(r.needPipelineContent()), CheckUnresolved, pt.Name, subject,
			"pipeline task runs a pipeline (pipelines in pipelines), which this version cannot verify%s", neededSuffix(r.needPipelineContent()))
		return
	}
	var trsMeta *v1.PipelineTaskMetadata
	var tpl *pod.Template
	prName := ""
	if pc.pr != nil {
		trs := pc.pr.GetTaskRunSpec(pt.Name)
		trsMeta, tpl, prName = trs.Metadata, trs.PodTemplate, pc.pr.Name
	}
	meta := pipelineTaskRun(pc.meta, prName, trsMeta, pt, finally)
	var spec *v1.TaskSpec
	switch {
	case pt.TaskRef != nil:
		if pt.TaskRef.IsCustomTask() || !isTektonTaskKind(string(pt.TaskRef.Kind)) {
			if !gate {
				r.customTask(pt.Name, subject, pt.TaskRef.APIVersion, string(pt.TaskRef.Kind))
			}
			return
		}
		ref := taskRefRef(pt.TaskRef, pc.ns, pt.Name, subject)
		legacy := isLegacyBundle(pc.legacy, LegacyBundleKeyPipelineTask(pt.Name))
		t := r.resolveTask(ref, "taskRef", legacy, pt.Name, gate)
		if t == nil {
			return
		}
		spec, meta = &t.Spec, meta.withTask(t.ObjectMeta)
	case pt.TaskSpec != nil:
		if pt.TaskSpec.IsCustomTask() {
			if !gate {
				r.customTask(pt.Name, subject, pt.TaskSpec.APIVersion, pt.TaskSpec.Kind)
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
	r.verifyTaskUnit(&taskUnit{base: subject, task: pt.Name, ns: pc.ns, pipelineTask: pt.Name, spec: spec,
		params: pt.Params, matrix: pt.Matrix, podTemplate: tpl, meta: meta})
}

func (r *run) verifyTaskRun(tr *v1.TaskRun) {
	base := ObjectSubject("taskrun", tr.Namespace, tr.Name)
	r.checkNamespace(base, tr.Namespace, "TaskRun")
	r.summary.Tasks++
	meta := metaOf(tr.ObjectMeta)
	var spec *v1.TaskSpec
	switch {
	case tr.Spec.TaskSpec != nil:
		spec = tr.Spec.TaskSpec
		if r.bundlesRequired() {
			r.violation(CheckBundle, tr.Name, base, "spec.taskSpec is embedded, not read from a Tekton bundle: bundles.required wants spec.taskRef with resolver: bundles")
		}
	case tr.Spec.TaskRef != nil:
		if tr.Spec.TaskRef.IsCustomTask() || !isTektonTaskKind(string(tr.Spec.TaskRef.Kind)) {
			r.customTask(tr.Name, base, tr.Spec.TaskRef.APIVersion, string(tr.Spec.TaskRef.Kind))
			return
		}
		tref := tr.Spec.TaskRef.DeepCopy()
		tref.Params = withRunParams(tref.Params, tr.Spec.Params)
		legacy := isLegacyBundle(tr.ObjectMeta, LegacyBundleKeyTaskRef)
		t := r.resolveTask(taskRefRef(tref, tr.Namespace, "", base), "spec.taskRef", legacy, tr.Name, false)
		if t == nil {
			return
		}
		spec, meta = &t.Spec, meta.withTask(t.ObjectMeta)
	default:
		r.finding(needSeverity(r.needTaskContent()), CheckUnresolved, tr.Name, base, "TaskRun has neither spec.taskRef nor spec.taskSpec: nothing to verify")
		return
	}
	r.verifyTaskUnit(&taskUnit{base: base, task: tr.Name, ns: tr.Namespace, spec: spec, params: tr.Spec.Params,
		podTemplate: tr.Spec.PodTemplate, meta: meta})
}

// resolveTask applies the bundle rules to a taskRef (field names it for the
// findings; exempt spares the gate's own task) and resolves it to its Task.
// Nil means a finding already says why there is nothing to verify.
func (r *run) resolveTask(ref Ref, field string, legacy bool, task string, exempt bool) *v1.Task {
	if !r.checkBundleRef(ref, field, legacy, task, exempt) {
		return nil
	}
	res := r.resolve(ref, task, r.needTaskContent())
	if res == nil {
		return nil
	}
	return res.Object.(*v1.Task)
}

// verifyTask checks a Task no verified run or pipeline used, as a TaskRun
// without metadata of its own would run it.
func (r *run) verifyTask(t *v1.Task) {
	base := ObjectSubject("task", t.Namespace, t.Name)
	r.summary.Tasks++
	r.verifyTaskUnit(&taskUnit{base: base, task: t.Name, ns: t.Namespace, spec: &t.Spec, meta: runMeta{}.withTask(t.ObjectMeta)})
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
	// base is the subject of the task: "pipelinerun/ns/pr task=build",
	// "taskrun/ns/tr", "task/name"; steps and sidecars narrow it.
	base Subject
	// task groups findings: the pipeline task's name, or the run's or
	// task's name.
	task         string
	ns           string
	pipelineTask string
	spec         *v1.TaskSpec // before substitution
	params       v1.Params
	matrix       *v1.Matrix
	podTemplate  *pod.Template
	// meta is the TaskRun's metadata, which Tekton copies onto the Pod.
	meta runMeta
}
