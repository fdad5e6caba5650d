package gate

import (
	"regexp"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tekton copies labels and annotations from the PipelineRun (which has the
// Pipeline's merged in), taskRunSpecs[].metadata, an embedded taskSpec's
// metadata and the Task's own metadata onto the TaskRun, and from the
// TaskRun onto its Pod. Pod Security Standards judge some of them (AppArmor
// profile annotations), so the pod the engine evaluates carries exactly
// what Tekton would put there. The functions below follow Tekton v1.15.0:
// storePipelineSpecAndMergeMeta and combineTaskRunAndTaskSpec{Labels,
// Annotations} (pkg/reconciler/pipelinerun), storeTaskSpecAndMergeMeta
// (pkg/reconciler/taskrun) and the pod builder (pkg/pod). Those live in
// Tekton's reconciler packages, which the engine does not import for new
// logic, hence these small equivalents (tested against Tekton's rules in
// podmeta_test.go).

// Keys Tekton treats specially when it copies metadata.
const (
	// lastAppliedKey is never copied from a Pipeline or Task to its run.
	lastAppliedKey = corev1.LastAppliedConfigAnnotation
	// managedByKey is never copied from a TaskRun's annotations to its Pod.
	managedByKey = "app.kubernetes.io/managed-by"
)

// reservedAnnotation matches the annotations a PipelineRun does not pass on
// to its TaskRuns (Tekton Chains' own).
var reservedAnnotation = regexp.MustCompile(pipeline.TektonReservedAnnotationExpr)

// runMeta is the labels and annotations of a run or a pod.
type runMeta struct {
	labels      map[string]string
	annotations map[string]string
}

func metaOf(m metav1.ObjectMeta) runMeta {
	return runMeta{labels: copyMap(m.Labels), annotations: copyMap(m.Annotations)}
}

// withPipeline is a PipelineRun's metadata after Tekton merged in the
// Pipeline's: the run's own values win; the Pipeline's last-applied
// annotation is dropped; the tekton.dev/pipeline label names the Pipeline.
// A live PipelineRun already carries the merge; files do not.
func (m runMeta) withPipeline(p metav1.ObjectMeta) runMeta {
	out := runMeta{
		labels:      union(p.Labels, m.labels),
		annotations: union(without(p.Annotations, lastAppliedKey), m.annotations),
	}
	if p.Name != "" {
		if out.labels == nil {
			out.labels = map[string]string{}
		}
		out.labels[pipeline.PipelineLabelKey] = p.Name
	}
	return out
}

// pipelineTaskRun is the metadata Tekton gives the TaskRun of pipeline task
// pt of a PipelineRun with metadata pr: taskRunSpecs[].metadata first, then
// the PipelineRun's (without Chains' reserved annotations) with the child
// labels Tekton adds, then an embedded taskSpec's metadata; an earlier
// source wins over a later one. prName is "" for a Pipeline verified alone.
func pipelineTaskRun(pr runMeta, prName string, trs *v1.PipelineTaskMetadata, pt v1.PipelineTask, finally bool) runMeta {
	labels := map[string]string{}
	annotations := map[string]string{}
	if trs != nil {
		addAbsent(labels, trs.Labels)
		addAbsent(annotations, trs.Annotations)
	}
	child := copyMap(pr.labels)
	if child == nil {
		child = map[string]string{}
	}
	if prName != "" {
		child[pipeline.PipelineRunLabelKey] = prName
	}
	child[pipeline.PipelineTaskLabelKey] = pt.Name
	child[pipeline.MemberOfLabelKey] = v1.PipelineTasks
	if finally {
		child[pipeline.MemberOfLabelKey] = v1.PipelineFinallyTasks
	}
	addAbsent(labels, child)
	for k, v := range pr.annotations {
		if _, ok := annotations[k]; !ok && !reservedAnnotation.MatchString(k) {
			annotations[k] = v
		}
	}
	if pt.TaskSpec != nil {
		addAbsent(labels, pt.TaskSpec.Metadata.Labels)
		addAbsent(annotations, pt.TaskSpec.Metadata.Annotations)
	}
	return runMeta{labels: labels, annotations: annotations}
}

// withTask is a TaskRun's metadata after Tekton merged in the metadata of
// the Task it references: the TaskRun's own values win, the Task's
// last-applied annotation is dropped, and the tekton.dev/task label names
// the Task. (An embedded taskSpec has no metadata of its own to merge here:
// a pipeline task's was added by pipelineTaskRun.)
func (m runMeta) withTask(t metav1.ObjectMeta) runMeta {
	out := runMeta{
		labels:      union(t.Labels, m.labels),
		annotations: union(without(t.Annotations, lastAppliedKey), m.annotations),
	}
	if out.labels == nil {
		out.labels = map[string]string{}
	}
	out.labels[pipeline.TaskLabelKey] = t.Name
	return out
}

// pod is the metadata of the Pod Tekton builds for a TaskRun with this
// metadata: every annotation but app.kubernetes.io/managed-by, every label.
// (Tekton's own additions, such as its release annotation, are not the
// pipeline author's and change no Pod Security Standards result.)
func (m runMeta) pod() metav1.ObjectMeta {
	return metav1.ObjectMeta{Labels: copyMap(m.labels), Annotations: without(m.annotations, managedByKey)}
}

// union returns the keys of both maps; b's values win. Nil when both are empty.
func union(a, b map[string]string) map[string]string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// addAbsent adds the keys of add that dst does not have yet.
func addAbsent(dst, add map[string]string) {
	for k, v := range add {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
}

func without(m map[string]string, key string) map[string]string {
	out := copyMap(m)
	delete(out, key)
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
