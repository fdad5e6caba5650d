package customrun

import (
	"sort"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	v1beta1listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// TestEnqueueGatesOf: a PipelineRun update wakes exactly the unfinished gate
// CustomRuns it controls, nothing else.
func TestEnqueueGatesOf(t *testing.T) {
	pr := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "pr", Namespace: "ci", UID: types.UID("pr-uid")}}
	owned := []metav1.OwnerReference{*metav1.NewControllerRef(pr, pipelinev1.SchemeGroupVersion.WithKind("PipelineRun"))}
	run := func(name string, owners []metav1.OwnerReference, label string, kind string, done bool) *v1beta1.CustomRun {
		r := &v1beta1.CustomRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ci", OwnerReferences: owners,
				Labels: map[string]string{pipeline.PipelineRunLabelKey: label}},
			Spec: v1beta1.CustomRunSpec{CustomRef: &v1beta1.TaskRef{APIVersion: "securitygate.dev/v1alpha1", Kind: v1beta1.TaskKind(kind), Name: "strict"}},
		}
		if done {
			r.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}}}
		}
		return r
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, r := range []*v1beta1.CustomRun{
		run("gate", owned, "pr", "ClusterSecurityGate", false),
		run("namespaced-gate", owned, "pr", "SecurityGate", false),
		run("finished-gate", owned, "pr", "ClusterSecurityGate", true),
		run("other-custom-task", owned, "pr", "Wait", false),
		run("label-without-owner", nil, "pr", "ClusterSecurityGate", false),
		run("other-pipelinerun", owned, "another", "ClusterSecurityGate", false),
	} {
		if err := idx.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	enqueueGatesOf(pr, v1beta1listers.NewCustomRunLister(idx), func(o interface{}) {
		got = append(got, o.(*v1beta1.CustomRun).Name)
	})
	sort.Strings(got)
	want := []string{"gate", "namespaced-gate"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("enqueued %v, want %v", got, want)
	}
	// Anything that is not a PipelineRun is ignored.
	enqueueGatesOf(&v1beta1.CustomRun{}, v1beta1listers.NewCustomRunLister(idx), func(interface{}) { t.Error("enqueued for a non-PipelineRun") })
}
