package pipelinerunresolver

import (
	"context"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/gate"
)

// A reference by name resolves to a copy that carries the apiVersion and
// kind the engine dispatches on, whatever the API server left in TypeMeta.
func TestByNameSetsTypeMeta(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "x", Namespace: "ci"}
	for _, tc := range []struct {
		kind, wantAPIVersion, wantSource string
		obj                              runtime.Object
	}{
		{gate.KindPipeline, "tekton.dev/v1", "pipeline/ci/x", &v1.Pipeline{ObjectMeta: meta}},
		{gate.KindTask, "tekton.dev/v1", "task/ci/x", &v1.Task{ObjectMeta: meta}},
		{gate.KindStepAction, "tekton.dev/v1beta1", "stepaction/ci/x", &v1beta1.StepAction{ObjectMeta: meta}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			r := New(newSource([]runtime.Object{tc.obj}), "ci", nil)
			got, err := r.Resolve(context.Background(), gate.Ref{Kind: tc.kind, Name: "x", Subject: gate.TextSubject("s")})
			if err != nil {
				t.Fatal(err)
			}
			gvk := got.Object.GetObjectKind().GroupVersionKind()
			if gvk.GroupVersion().String() != tc.wantAPIVersion || gvk.Kind != tc.kind {
				t.Errorf("TypeMeta = %v, want %s %s", gvk, tc.wantAPIVersion, tc.kind)
			}
			if got.Source != tc.wantSource {
				t.Errorf("Source = %q, want %q", got.Source, tc.wantSource)
			}
			if tc.obj.GetObjectKind().GroupVersionKind().Kind != "" {
				t.Errorf("the source's object was changed: %v", tc.obj.GetObjectKind().GroupVersionKind())
			}
		})
	}
}
