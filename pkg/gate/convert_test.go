package gate_test

import (
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/gate"
)

// TestToV1 converts each v1beta1 kind and checks a field whose shape differs
// between the versions arrived where v1 keeps it; v1 objects and StepActions
// pass through as they are.
func TestToV1(t *testing.T) {
	limits := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	meta := metav1.ObjectMeta{Name: "x", Namespace: "ci"}
	v1Task := &v1.Task{ObjectMeta: meta}
	stepAction := &v1beta1.StepAction{ObjectMeta: meta}
	tests := []struct {
		name     string
		in       runtime.Object
		wantKind string // the kind a converted object names in tekton.dev/v1
		check    func(t *testing.T, out runtime.Object)
	}{{
		name:     "v1beta1 Task: step resources become computeResources",
		in:       &v1beta1.Task{ObjectMeta: meta, Spec: v1beta1.TaskSpec{Steps: []v1beta1.Step{{Name: "s", Image: "i", Resources: limits}}}},
		wantKind: "Task",
		check: func(t *testing.T, out runtime.Object) {
			task := out.(*v1.Task)
			if got := task.Spec.Steps[0].ComputeResources.Limits.Memory().String(); got != "1Gi" {
				t.Errorf("computeResources memory limit = %q, want 1Gi", got)
			}
		},
	}, {
		name:     "v1beta1 Pipeline: tasks kept",
		in:       &v1beta1.Pipeline{ObjectMeta: meta, Spec: v1beta1.PipelineSpec{Tasks: []v1beta1.PipelineTask{{Name: "gate", TaskRef: &v1beta1.TaskRef{Name: "t"}}}}},
		wantKind: "Pipeline",
		check: func(t *testing.T, out runtime.Object) {
			p := out.(*v1.Pipeline)
			if len(p.Spec.Tasks) != 1 || p.Spec.Tasks[0].TaskRef.Name != "t" {
				t.Errorf("tasks = %+v, want the gate task referencing t", p.Spec.Tasks)
			}
		},
	}, {
		name:     "v1beta1 PipelineRun: serviceAccountName moves to taskRunTemplate",
		in:       &v1beta1.PipelineRun{ObjectMeta: meta, Spec: v1beta1.PipelineRunSpec{ServiceAccountName: "sa", PipelineRef: &v1beta1.PipelineRef{Name: "p"}}},
		wantKind: "PipelineRun",
		check: func(t *testing.T, out runtime.Object) {
			pr := out.(*v1.PipelineRun)
			if pr.Spec.TaskRunTemplate.ServiceAccountName != "sa" {
				t.Errorf("taskRunTemplate.serviceAccountName = %q, want sa", pr.Spec.TaskRunTemplate.ServiceAccountName)
			}
		},
	}, {
		name:     "v1beta1 TaskRun: serviceAccountName kept",
		in:       &v1beta1.TaskRun{ObjectMeta: meta, Spec: v1beta1.TaskRunSpec{ServiceAccountName: "sa", TaskRef: &v1beta1.TaskRef{Name: "t"}}},
		wantKind: "TaskRun",
		check: func(t *testing.T, out runtime.Object) {
			tr := out.(*v1.TaskRun)
			if tr.Spec.ServiceAccountName != "sa" || tr.Spec.TaskRef.Name != "t" {
				t.Errorf("spec = %+v, want serviceAccountName sa and taskRef t", tr.Spec)
			}
		},
	}, {
		name: "v1 Task passes through",
		in:   v1Task,
		check: func(t *testing.T, out runtime.Object) {
			if out != runtime.Object(v1Task) {
				t.Errorf("got a different object %p, want the same %p", out, v1Task)
			}
		},
	}, {
		name: "StepAction passes through",
		in:   stepAction,
		check: func(t *testing.T, out runtime.Object) {
			if out != runtime.Object(stepAction) {
				t.Errorf("got a different object %p, want the same %p", out, stepAction)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := gate.ToV1(tt.in)
			if err != nil {
				t.Fatalf("ToV1: %v", err)
			}
			if tt.wantKind != "" {
				if gvk := out.GetObjectKind().GroupVersionKind(); gvk != v1.SchemeGroupVersion.WithKind(tt.wantKind) {
					t.Errorf("converted object says %s, want tekton.dev/v1 %s", gvk, tt.wantKind)
				}
			}
			if m, ok := out.(metav1.Object); !ok || m.GetName() != "x" || m.GetNamespace() != "ci" {
				t.Errorf("metadata lost: %+v", out)
			}
			tt.check(t, out)
		})
	}
}
