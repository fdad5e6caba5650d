package gate

import (
	"reflect"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
)

func TestMergeStepAction(t *testing.T) {
	yes := true
	sa := &v1beta1.StepAction{Spec: v1beta1.StepActionSpec{
		Image:           "r.example/tool:$(params.v)",
		Params:          v1.ParamSpecs{{Name: "v", Default: v1.NewStructuredValues("1")}},
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: &yes},
		Script:          "run",
	}}
	step := v1.Step{Name: "s", Image: "ignored", Command: []string{"keep"}, Ref: &v1.Ref{Name: "sa"},
		SecurityContext: &corev1.SecurityContext{Privileged: &yes}}
	tests := []struct {
		name      string
		params    v1.Params
		wantImage string
	}{
		{name: "default", wantImage: "r.example/tool:1"},
		{name: "step value", params: v1.Params{{Name: "v", Value: *v1.NewStructuredValues("2")}}, wantImage: "r.example/tool:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeStepAction(step, tt.params, sa)
			if got.Image != tt.wantImage {
				t.Errorf("image = %q, want %q", got.Image, tt.wantImage)
			}
			if got.SecurityContext == nil || got.SecurityContext.Privileged != nil || got.SecurityContext.RunAsNonRoot == nil {
				t.Errorf("securityContext = %+v, want the StepAction's", got.SecurityContext)
			}
			if got.Ref != nil || got.Params != nil || got.Script != "run" || got.Name != "s" || !reflect.DeepEqual(got.Command, []string{"keep"}) {
				t.Errorf("merged step = %+v", got)
			}
		})
	}
}

func TestUnresolvedExpr(t *testing.T) {
	tests := []struct{ in, expr, what string }{
		{"alpine", "", ""},
		{"r/$(params.x):1", "$(params.x)", "a parameter that has no value"},
		{"$(tasks.a.results.b)", "$(tasks.a.results.b)", "a result of another task"},
		{"x$(context.pipelineRun.name)", "$(context.pipelineRun.name)", "a context variable"},
		{"$(steps.a.results.b)", "$(steps.a.results.b)", "a result of another step"},
		{"$(unterminated", "$(unterminated", "a variable"},
	}
	for _, tt := range tests {
		got := unresolvedExpr(tt.in)
		if got != tt.expr {
			t.Errorf("unresolvedExpr(%q) = %q, want %q", tt.in, got, tt.expr)
		}
		if got != "" && describeExpr(got) != tt.what {
			t.Errorf("describeExpr(%q) = %q, want %q", got, describeExpr(got), tt.what)
		}
	}
}
