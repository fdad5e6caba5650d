//go:build e2e

package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
)

// ToTektonV1 returns obj as Tekton's conversion webhook would store it.
// No webhook runs on this control plane and the CRDs' conversion strategy is
// None, so a tekton.dev/v1beta1 Pipeline, Task, PipelineRun or TaskRun sent
// as is would be stored as v1 with its v1beta1-only fields pruned. They are
// converted here with Tekton's own ConvertTo; every other object (StepAction,
// whose stored version is v1beta1, CustomRun, non-Tekton kinds) is returned
// unchanged.
func ToTektonV1(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if obj.GetAPIVersion() != v1beta1.SchemeGroupVersion.String() {
		return obj, nil
	}
	var from apis.Convertible
	var to runtime.Object
	switch obj.GetKind() {
	case "Pipeline":
		from, to = &v1beta1.Pipeline{}, &v1.Pipeline{}
	case "Task":
		from, to = &v1beta1.Task{}, &v1.Task{}
	case "PipelineRun":
		from, to = &v1beta1.PipelineRun{}, &v1.PipelineRun{}
	case "TaskRun":
		from, to = &v1beta1.TaskRun{}, &v1.TaskRun{}
	default:
		return obj, nil
	}
	what := fmt.Sprintf("%s %s/%s (tekton.dev/v1beta1)", obj.GetKind(), obj.GetNamespace(), obj.GetName())
	b, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	// Strict: a field the v1beta1 type does not know would be lost silently.
	if err := strictUnmarshal(b, from); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := from.ConvertTo(ctx, to.(apis.Convertible)); err != nil {
		return nil, fmt.Errorf("%s: converting to tekton.dev/v1: %w", what, err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(to)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := &unstructured.Unstructured{Object: m}
	out.SetAPIVersion(v1.SchemeGroupVersion.String())
	out.SetKind(obj.GetKind())
	unstructured.RemoveNestedField(out.Object, "status")
	unstructured.RemoveNestedField(out.Object, "metadata", "creationTimestamp")
	return out, nil
}

func strictUnmarshal(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}
