package gate

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
)

func TestMatrixCombinations(t *testing.T) {
	arr := func(vals ...string) v1.ParamValue { return *v1.NewStructuredValues(vals[0], vals[1:]...) }
	str := func(s string) v1.ParamValue { return *v1.NewStructuredValues(s) }
	tests := []struct {
		name string
		m    *v1.Matrix
		want []string // each combination as sorted "k=v" joined by ","
	}{
		{name: "no matrix", m: nil, want: []string{""}},
		{name: "one param", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arr("x", "y")}}}, want: []string{"a=x", "a=y"}},
		{name: "cross product", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arr("x", "y")}, {Name: "b", Value: arr("1", "2")}}},
			want: []string{"a=x,b=1", "a=x,b=2", "a=y,b=1", "a=y,b=2"}},
		{name: "include only", m: &v1.Matrix{Include: v1.IncludeParamsList{{Name: "i", Params: v1.Params{{Name: "a", Value: str("z")}}}}},
			want: []string{"a=z"}},
		{name: "result in matrix stays an expression", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: str("$(tasks.t.results.r[*])")}, {Name: "b", Value: arr("1", "2")}}},
			want: []string{"a=$(tasks.t.results.r[*]),b=1", "a=$(tasks.t.results.r[*]),b=2"}},
		{name: "result inside an array", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arr("x", "$(tasks.t.results.r)")}}},
			want: []string{"a=$(tasks.t.results.r)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range matrixCombinations(tt.m) {
				var kv []string
				for _, p := range c {
					kv = append(kv, p.Name+"="+p.Value.StringVal)
				}
				sort.Strings(kv)
				got = append(got, strings.Join(kv, ","))
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("combinations = %q, want %q", got, tt.want)
			}
		})
	}
}

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
