package gate

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tknpod "github.com/tektoncd/pipeline/pkg/pod"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakek8s "k8s.io/client-go/kubernetes/fake"
)

// TestPodMetaIsTektonsPod builds a Pod with Tekton's own pod builder and
// checks that the engine's model of it agrees: the annotations Tekton
// copies from the TaskRun, and the container names of steps and sidecars
// that pod annotations address.
func TestPodMetaIsTektonsPod(t *testing.T) {
	tr := &v1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: "tr", Namespace: "ci",
			Labels: map[string]string{"team": "a"},
			Annotations: map[string]string{
				corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "step-build":    "unconfined",
				corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "sidecar-proxy": "runtime/default",
				managedByKey:       "someone",
				"example.dev/note": "kept",
			}},
		Spec: v1.TaskRunSpec{ServiceAccountName: "default"},
	}
	ts := v1.TaskSpec{
		Steps: []v1.Step{
			{Name: "build", Image: "img", Command: []string{"c"}},
			{Image: "img", Command: []string{"c"}},
			{Name: "a-very-long-step-name-that-goes-past-the-limit-of-container-names-in-kubernetes", Image: "img", Command: []string{"c"}},
		},
		Sidecars: []v1.Sidecar{{Name: "proxy", Image: "img", Command: []string{"c"}}},
	}
	kube := fakek8s.NewSimpleClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ci"}})
	b := tknpod.Builder{Images: pipeline.Images{EntrypointImage: "e", ShellImage: "s", ShellImageWin: "s", NopImage: "n", WorkingDirInitImage: "w", SidecarLogResultsImage: "r"}, KubeClient: kube}
	p, err := b.Build(context.Background(), tr, ts)
	if err != nil {
		t.Fatal(err)
	}

	got := metaOf(tr.ObjectMeta).pod().Annotations
	want := map[string]string{}
	for k, v := range p.Annotations {
		// Tekton's own bookkeeping, not copied from the run.
		if k == tknpod.ReleaseAnnotation || k == "tekton.dev/ready" {
			continue
		}
		want[k] = v
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pod annotations:\n got %v\nwant %v (Tekton's pod)", got, want)
	}

	var tekton []string
	for _, c := range p.Spec.Containers {
		tekton = append(tekton, c.Name)
	}
	var ours []string
	for i, s := range ts.Steps {
		ours = append(ours, stepContainerName(i, s.Name))
	}
	for _, s := range ts.Sidecars {
		ours = append(ours, sidecarContainerName(s.Name))
	}
	sort.Strings(tekton)
	sort.Strings(ours)
	if !reflect.DeepEqual(ours, tekton) {
		t.Errorf("container names %q, Tekton's pod has %q", ours, tekton)
	}
}

// TestTaskRunMetaPrecedence follows Tekton's rules for the metadata of a
// pipeline task's TaskRun: taskRunSpecs[].metadata over the PipelineRun's
// (which holds the Pipeline's under its own) over an embedded taskSpec's,
// then the Task's own under all of those; the PipelineRun's Chains
// annotations and the Pipeline's and Task's last-applied annotations are not
// passed on.
func TestTaskRunMetaPrecedence(t *testing.T) {
	const k = "example.dev/k"
	pipelineMeta := metav1.ObjectMeta{Name: "p", Annotations: map[string]string{k: "pipeline", "only-pipeline": "1", lastAppliedKey: "{}"}}
	prMeta := metav1.ObjectMeta{Name: "pr", Annotations: map[string]string{k: "run", "chains.tekton.dev/signed": "true"}}
	taskMeta := metav1.ObjectMeta{Name: "t", Annotations: map[string]string{k: "task", "only-task": "1", lastAppliedKey: "{}"}}
	embedded := func(v string) v1.PipelineTask {
		return v1.PipelineTask{Name: "a", TaskSpec: &v1.EmbeddedTask{Metadata: v1.PipelineTaskMetadata{Annotations: map[string]string{k: v, "only-embedded": "1"}}}}
	}
	pr := metaOf(prMeta).withPipeline(pipelineMeta)
	for _, tc := range []struct {
		name string
		got  runMeta
		want map[string]string
	}{
		{"run over pipeline", pr, map[string]string{k: "run", "only-pipeline": "1", "chains.tekton.dev/signed": "true"}},
		{"taskRunSpecs over run over embedded",
			pipelineTaskRun(pr, "pr", &v1.PipelineTaskMetadata{Annotations: map[string]string{k: "trs"}}, embedded("embedded"), false),
			map[string]string{k: "trs", "only-pipeline": "1", "only-embedded": "1"}},
		{"run over embedded", pipelineTaskRun(pr, "pr", nil, embedded("embedded"), false),
			map[string]string{k: "run", "only-pipeline": "1", "only-embedded": "1"}},
		{"TaskRun over Task", pipelineTaskRun(pr, "pr", nil, v1.PipelineTask{Name: "a"}, false).withTask(taskMeta),
			map[string]string{k: "run", "only-pipeline": "1", "only-task": "1"}},
		{"Task alone", runMeta{}.withTask(taskMeta), map[string]string{k: "task", "only-task": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got.annotations, tc.want) {
				t.Errorf("annotations %v, want %v", tc.got.annotations, tc.want)
			}
		})
	}
	trm := pipelineTaskRun(pr, "pr", nil, v1.PipelineTask{Name: "a"}, true).withTask(taskMeta)
	for key, want := range map[string]string{pipeline.PipelineRunLabelKey: "pr", pipeline.PipelineTaskLabelKey: "a",
		pipeline.PipelineLabelKey: "p", pipeline.TaskLabelKey: "t", pipeline.MemberOfLabelKey: v1.PipelineFinallyTasks} {
		if trm.labels[key] != want {
			t.Errorf("label %s = %q, want %q", key, trm.labels[key], want)
		}
	}
}
