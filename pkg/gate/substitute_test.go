package gate

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	podtpl "github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tknpod "github.com/tektoncd/pipeline/pkg/pod"
	presources "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	tresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"
)

// The functions of substitute.go and substitute_pod.go restate Tekton's
// reconciler code the engine must not link. These tests hold them to
// Tekton's own: hand-written cases for each rule, then many generated specs
// in which every string field holds a parameter reference, so a field one
// side substitutes and the other does not shows up as a difference.

// refPool are the values generated string fields get: every spelling of a
// reference, to every kind of parameter, beside plain text.
var refPool = []string{
	"$(params.a)", "$(params.b)", "pre-$(params.a)-post", "$(params.arr[*])", "$(params.arr[1])",
	"$(params.o.k)", "$(params.c)", `$(params["a"])`, "$(params['b'])", "$(inputs.params.a)", "$(params.o[*])",
	"$(params.missing)", "$(context.taskRun.name)", "$(tasks.x.results.y)", "plain", "",
}

// seedRefs sets every settable string (of any string type but ParamType,
// which decides how a value is read) in v to an element of refPool, and
// rebuilds maps with keys from the pool, each made distinct by a suffix:
// two keys that substitute to the same text would leave the result to map
// order, in Tekton as here.
func seedRefs(v reflect.Value, rnd *rand.Rand) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() && v.Type() != reflect.TypeFor[v1.ParamType]() {
			v.SetString(refPool[rnd.Intn(len(refPool))])
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			seedRefs(v.Elem(), rnd)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			seedRefs(v.Index(i), rnd)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				seedRefs(v.Field(i), rnd)
			}
		}
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		out := reflect.MakeMap(v.Type())
		for i, k := range v.MapKeys() {
			nk := reflect.New(k.Type()).Elem()
			nk.Set(k)
			seedRefs(nk, rnd)
			if nk.Kind() == reflect.String {
				nk.SetString(fmt.Sprintf("%s-%d", nk.String(), i))
			}
			nv := reflect.New(v.Type().Elem()).Elem()
			nv.Set(v.MapIndex(k))
			seedRefs(nv, rnd)
			out.SetMapIndex(nk, nv)
		}
		v.Set(out)
	}
}

// generate fills obj from seed: random structure, references in strings.
func generate(t *testing.T, seed int64, obj any) {
	t.Helper()
	f := randfill.NewWithSeed(seed).NilChance(0.3).NumElements(0, 2).MaxDepth(9).
		Funcs(func(*runtime.RawExtension, randfill.Continue) {})
	f.Fill(obj)
	seedRefs(reflect.ValueOf(obj), rand.New(rand.NewSource(seed)))
}

func str(s string) *v1.ParamValue { return v1.NewStructuredValues(s) }

// declared are parameter declarations of each kind, with defaults that
// reference each other.
func declared() v1.ParamSpecs {
	return v1.ParamSpecs{
		{Name: "a", Type: v1.ParamTypeString, Default: str("A")},
		{Name: "b", Type: v1.ParamTypeString, Default: str("$(params.a)-B")},
		{Name: "c", Type: v1.ParamTypeString, Default: str("$(params.a)/$(params.b)")},
		{Name: "arr", Type: v1.ParamTypeArray, Default: v1.NewStructuredValues("x", "$(params.a)")},
		{Name: "o", Type: v1.ParamTypeObject, Properties: map[string]v1.PropertySpec{"k": {}}, Default: v1.NewObject(map[string]string{"k": "$(params.b)"})},
	}
}

// givenSets are run params: none, some of each kind, all.
func givenSets() []v1.Params {
	return []v1.Params{
		nil,
		{{Name: "a", Value: *str("run-a")}},
		{{Name: "arr", Value: *v1.NewStructuredValues("r1", "r2", "r3")}, {Name: "o", Value: *v1.NewObject(map[string]string{"k": "run-k"})}},
		{{Name: "a", Value: *str("run-a")}, {Name: "b", Value: *str("run-b")}, {Name: "o", Value: *v1.NewObject(map[string]string{})}},
	}
}

func TestPipelineParamsAreTektons(t *testing.T) {
	cases := []struct {
		name   string
		params v1.ParamSpecs
		spec   v1.PipelineSpec
	}{{
		name:   "defaults referencing defaults",
		params: declared(),
		spec: v1.PipelineSpec{Tasks: []v1.PipelineTask{{
			Name:    "t",
			TaskRef: &v1.TaskRef{Name: "$(params.a)", ResolverRef: v1.ResolverRef{Resolver: "bundles", Params: v1.Params{{Name: "bundle", Value: *str("r/$(params.b)")}}}},
			Params:  v1.Params{{Name: "x", Value: *str("$(params.o.k)")}, {Name: "y", Value: *str("$(params.arr[*])")}},
		}}},
	}, {
		name:   "embedded task sees the pipeline task's params first",
		params: declared(),
		spec: v1.PipelineSpec{Finally: []v1.PipelineTask{{
			Name:     "t",
			Params:   v1.Params{{Name: "a", Value: *str("scoped")}},
			TaskSpec: &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{Steps: []v1.Step{{Name: "s", Image: "$(params.a):$(params.b)", Args: []string{"$(params.arr[*])"}}}}},
		}}},
	}, {
		name:   "matrix",
		params: declared(),
		spec: v1.PipelineSpec{Tasks: []v1.PipelineTask{{
			Name:   "t",
			Matrix: &v1.Matrix{Params: v1.Params{{Name: "m", Value: *v1.NewStructuredValues("$(params.arr[*])")}}, Include: []v1.IncludeParams{{Name: "i", Params: v1.Params{{Name: "n", Value: *str("$(params.a)")}}}}},
		}}},
	}, {
		name:   "a cycle",
		params: v1.ParamSpecs{{Name: "a", Default: str("$(params.b)")}, {Name: "b", Default: str("$(params.a)")}},
	}, {
		name:   "a default naming a parameter with no value",
		params: v1.ParamSpecs{{Name: "a", Default: str("$(params.nothing)")}},
	}}
	check := func(t *testing.T, spec *v1.PipelineSpec, given v1.Params) {
		t.Helper()
		pr := &v1.PipelineRun{Spec: v1.PipelineRunSpec{Params: given}}
		want, wantErr := presources.ApplyParameters(spec.DeepCopy(), pr)
		got, gotErr := applyPipelineParams(spec, pr)
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("error = %v, Tekton's = %v", gotErr, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("differs from Tekton's ApplyParameters (-Tekton +ours):\n%s", diff)
		}
	}
	for _, tc := range cases {
		for gi, given := range givenSets() {
			t.Run(fmt.Sprintf("%s/given-%d", tc.name, gi), func(t *testing.T) {
				spec := tc.spec.DeepCopy()
				spec.Params = tc.params
				check(t, spec, given)
			})
		}
	}
	for seed := range int64(60) {
		var spec v1.PipelineSpec
		generate(t, seed, &spec)
		spec.Params = declared()
		for _, given := range givenSets() {
			check(t, &spec, given)
		}
	}
	// nil run: defaults only.
	spec := &v1.PipelineSpec{Params: declared(), Tasks: []v1.PipelineTask{{Name: "t", Params: v1.Params{{Name: "x", Value: *str("$(params.b)")}}}}}
	got, err := applyPipelineParams(spec, nil)
	if err != nil || got.Tasks[0].Params[0].Value.StringVal != "A-B" {
		t.Errorf("defaults only: param x = %+v, %v; want A-B", got.Tasks[0].Params, err)
	}
}

func TestTaskParamsAreTektons(t *testing.T) {
	check := func(t *testing.T, spec *v1.TaskSpec, given v1.Params) {
		t.Helper()
		want := tresources.ApplyParameters(spec.DeepCopy(), &v1.TaskRun{Spec: v1.TaskRunSpec{Params: given}}, spec.Params...)
		got := applyTaskParams(spec, given)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("differs from Tekton's ApplyParameters (-Tekton +ours):\n%s", diff)
		}
	}
	hand := &v1.TaskSpec{
		Params:       declared(),
		Steps:        []v1.Step{{Name: "s", Image: "r/$(params.a):$(params.b)", Args: []string{"$(params.arr[*])", "$(params.o.k)"}, Params: v1.Params{{Name: "p", Value: *str("$(inputs.params.a)")}}}},
		Sidecars:     []v1.Sidecar{{Name: "c", Image: "$(params['a'])"}},
		StepTemplate: &v1.StepTemplate{Image: "$(params.b)"},
		Workspaces:   []v1.WorkspaceDeclaration{{Name: "w", MountPath: "/$(params.a)"}},
	}
	for _, given := range givenSets() {
		check(t, hand, given)
	}
	for seed := range int64(60) {
		var spec v1.TaskSpec
		generate(t, seed, &spec)
		spec.Params = declared()
		for _, given := range givenSets() {
			check(t, &spec, given)
		}
	}
}

func TestPodTemplateParamsAreTektons(t *testing.T) {
	for seed := range int64(100) {
		var tpl podtpl.Template
		generate(t, seed, &tpl)
		for _, given := range givenSets() {
			want := tresources.ApplyPodTemplateReplacements(tpl.DeepCopy(), &v1.TaskRun{Spec: v1.TaskRunSpec{Params: given}}, declared()...)
			got := applyPodTemplateParams(&tpl, given, declared())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d: differs from Tekton's ApplyPodTemplateReplacements (-Tekton +ours):\n%s", seed, diff)
			}
		}
	}
	if applyPodTemplateParams(nil, nil, nil) != nil {
		t.Error("a nil template became non-nil")
	}
}

func TestPodStepNameIsTektons(t *testing.T) {
	for i, name := range []string{"", "build", "a-very-long-step-name-that-goes-on-and-on-beyond-the-limit-of-names", "x"} {
		if got, want := podStepName(name, i), tknpod.StepName(name, i); got != want {
			t.Errorf("podStepName(%q, %d) = %q, Tekton's StepName = %q", name, i, got, want)
		}
	}
}

// FuzzTaskParamsAreTektons holds the task substitution to Tekton's on
// arbitrary text: a default, a given value and the fields that reference
// them.
func FuzzTaskParamsAreTektons(f *testing.F) {
	f.Add("A", "$(params.a)-B", "run", "r/$(params.a):$(params.b)", "$(params.arr[*])")
	f.Add("$(params.b)", "$(params.a)", "", "$(params['a'])$(params[\"b\"])", "$(inputs.params.b)")
	f.Add("x", "$(params.a)/$(params.a", "$(", "$(params.o.k)", "$(params.arr[1])")
	f.Fuzz(func(t *testing.T, defA, defB, givenA, image, arg string) {
		spec := &v1.TaskSpec{
			Params: v1.ParamSpecs{
				{Name: "a", Default: str(defA)},
				{Name: "b", Default: str(defB)},
				{Name: "arr", Type: v1.ParamTypeArray, Default: v1.NewStructuredValues(defA, defB)},
			},
			Steps:    []v1.Step{{Name: "s", Image: image, Args: []string{arg, image}, Script: arg}},
			Sidecars: []v1.Sidecar{{Name: "c", Image: arg}},
		}
		given := v1.Params{{Name: "a", Value: *str(givenA)}}
		want := tresources.ApplyParameters(spec.DeepCopy(), &v1.TaskRun{Spec: v1.TaskRunSpec{Params: given}}, spec.Params...)
		if diff := cmp.Diff(want, applyTaskParams(spec, given)); diff != "" {
			t.Errorf("differs from Tekton's ApplyParameters (-Tekton +ours):\n%s", diff)
		}
	})
}
