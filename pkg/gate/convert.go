package gate

import (
	"context"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
)

// ToV1 converts a tekton.dev/v1beta1 PipelineRun, Pipeline, TaskRun or Task
// to tekton.dev/v1 with Tekton's own ConvertTo, as the API server's
// conversion webhook does, so everything downstream judges one version. Any
// other object (v1 objects, StepActions, which Tekton serves as v1beta1
// only) is returned as it is. This is the only conversion in the tree: the
// manifest reader, the engine's inputs and the resolvers' answers all pass
// through it.
func ToV1(obj runtime.Object) (runtime.Object, error) {
	var src, dst apis.Convertible
	var kind string
	switch o := obj.(type) {
	case *v1beta1.PipelineRun:
		src, dst, kind = o, &v1.PipelineRun{}, "PipelineRun"
	case *v1beta1.Pipeline:
		src, dst, kind = o, &v1.Pipeline{}, "Pipeline"
	case *v1beta1.TaskRun:
		src, dst, kind = o, &v1.TaskRun{}, "TaskRun"
	case *v1beta1.Task:
		src, dst, kind = o, &v1.Task{}, "Task"
	default:
		return obj, nil
	}
	if err := src.ConvertTo(context.Background(), dst); err != nil {
		return nil, fmt.Errorf("%s %q: converting from tekton.dev/v1beta1 to tekton.dev/v1: %w", kind, objectName(obj), err)
	}
	out := dst.(runtime.Object)
	out.GetObjectKind().SetGroupVersionKind(v1.SchemeGroupVersion.WithKind(kind))
	return out, nil
}

// objectName is the name of a Kubernetes object, for messages.
func objectName(obj runtime.Object) string {
	if m, ok := obj.(interface{ GetName() string }); ok {
		return m.GetName()
	}
	return ""
}
