package gate

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

func arrValue(vals ...string) v1.ParamValue { return *v1.NewStructuredValues(vals[0], vals[1:]...) }
func strValue(s string) v1.ParamValue       { return *v1.NewStructuredValues(s) }

func include(params ...string) v1.IncludeParams {
	inc := v1.IncludeParams{Name: "i"}
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		inc.Params = append(inc.Params, v1.Param{Name: k, Value: strValue(v)})
	}
	return inc
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// comboStrings renders combinations as sorted "k=v" lists joined by ",".
func comboStrings(combos []v1.Params) []string {
	var got []string
	for _, c := range combos {
		var kv []string
		for _, p := range c {
			kv = append(kv, p.Name+"="+p.Value.StringVal)
		}
		sort.Strings(kv)
		got = append(got, strings.Join(kv, ","))
	}
	sort.Strings(got)
	return got
}

func TestMatrixCombinations(t *testing.T) {
	const oses = "$(tasks.t.results.oses[*])"
	tests := []struct {
		name    string
		m       *v1.Matrix
		want    []string
		tooMany bool
	}{
		{name: "no matrix", m: nil, want: []string{""}},
		{name: "one param", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue("x", "y")}}}, want: []string{"a=x", "a=y"}},
		{name: "cross product", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue("x", "y")}, {Name: "b", Value: arrValue("1", "2")}}},
			want: []string{"a=x,b=1", "a=x,b=2", "a=y,b=1", "a=y,b=2"}},
		{name: "include only", m: &v1.Matrix{Include: v1.IncludeParamsList{include("a=z")}}, want: []string{"a=z"}},
		{name: "known include adds to the combination it matches",
			m:    &v1.Matrix{Params: v1.Params{{Name: "os", Value: arrValue("linux", "mac")}}, Include: v1.IncludeParamsList{include("os=linux", "image=x")}},
			want: []string{"image=x,os=linux", "os=mac"}},
		{name: "result in matrix stays an expression",
			m:    &v1.Matrix{Params: v1.Params{{Name: "a", Value: strValue("$(tasks.t.results.r[*])")}, {Name: "b", Value: arrValue("1", "2")}}},
			want: []string{"a=$(tasks.t.results.r[*]),b=1", "a=$(tasks.t.results.r[*]),b=2"}},
		{name: "known elements beside a result in one array are each judged",
			m:    &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue("x", "$(tasks.t.results.r)")}}},
			want: []string{"a=$(tasks.t.results.r)", "a=x"}},
		{
			// The include may match a combination of the result's values or
			// be a combination of its own: its fixed image runs either way.
			name: "include next to a result-fed param is applied, not dropped",
			m:    &v1.Matrix{Params: v1.Params{{Name: "os", Value: strValue(oses)}}, Include: v1.IncludeParamsList{include("os=linux", "image=evil:latest")}},
			want: []string{"image=evil:latest,os=linux", "os=" + oses},
		},
		{
			name: "include sharing no name applies to every combination and stands alone",
			m:    &v1.Matrix{Params: v1.Params{{Name: "os", Value: strValue(oses)}}, Include: v1.IncludeParamsList{include("image=x")}},
			want: []string{"image=x", "image=x,os=" + oses},
		},
		{
			name: "include next to known and result-fed params",
			m: &v1.Matrix{Params: v1.Params{{Name: "arch", Value: arrValue("amd64", "arm64")}, {Name: "os", Value: strValue(oses)}},
				Include: v1.IncludeParamsList{include("arch=arm64", "os=linux", "image=cross")}},
			want: []string{
				"arch=amd64,os=" + oses,
				"arch=arm64,image=cross,os=linux",
				"arch=arm64,os=" + oses,
			},
		},
		{
			name: "include whose value is a result",
			m: &v1.Matrix{Params: v1.Params{{Name: "os", Value: arrValue("linux", "mac")}},
				Include: v1.IncludeParamsList{include("os=linux", "image=$(tasks.t.results.img)")}},
			want: []string{"image=$(tasks.t.results.img),os=linux", "os=mac"},
		},
		{name: "256 combinations are judged", m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue(numbered("a", 16)...)}, {Name: "b", Value: arrValue(numbered("b", 16)...)}}}},
		{name: "257 and more are undecided, never truncated", tooMany: true,
			m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue(numbered("a", 17)...)}, {Name: "b", Value: arrValue(numbered("b", 17)...)}}}},
		{name: "too many beside a result", tooMany: true,
			m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue(numbered("a", 20)...)}, {Name: "b", Value: arrValue(append(numbered("b", 12), "$(tasks.t.results.r)")...)}}}},
		{name: "includes of unknown outcome that multiply past the bound", tooMany: true,
			m: &v1.Matrix{Params: v1.Params{{Name: "a", Value: arrValue(numbered("a", 16)...)},
				{Name: "w", Value: strValue(oses)}, {Name: "x", Value: strValue(oses)}, {Name: "y", Value: strValue(oses)}, {Name: "z", Value: strValue(oses)}},
				Include: v1.IncludeParamsList{include("w=1", "i=1"), include("x=1", "j=1"), include("y=1", "k=1"), include("z=1", "l=1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			combos, err := matrixCombinations(tt.m)
			if tt.tooMany {
				var tm errTooManyCombinations
				if !errors.As(err, &tm) {
					t.Fatalf("err = %v (%d combinations), want too many combinations", err, len(combos))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(combos) != maxMatrixCombinations {
					t.Fatalf("%d combinations, want %d", len(combos), maxMatrixCombinations)
				}
				return
			}
			if got := comboStrings(combos); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("combinations = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSymbolicFanOutIsTektonsWhenKnown: on matrices whose values are all
// known, the fan-out used for run-time values gives exactly Tekton's own.
func TestSymbolicFanOutIsTektonsWhenKnown(t *testing.T) {
	params := v1.Params{{Name: "os", Value: arrValue("linux", "mac")}, {Name: "arch", Value: arrValue("amd64", "arm64")}}
	for _, incs := range []v1.IncludeParamsList{
		nil,
		{include("os=linux", "image=a")},
		{include("image=a")},
		{include("os=win", "image=w")},
		{include("os=linux", "arch=arm64", "image=x"), include("os=mac", "extra=y")},
		{include("os=linux", "image=a"), include("os=win", "arch=amd64", "image=w"), include("flavour=z")},
	} {
		m := &v1.Matrix{Params: params, Include: incs}
		want := comboStrings(m.FanOut())
		got, err := symbolicFanOut(m)
		if err != nil {
			t.Fatal(err)
		}
		if g := comboStrings(got); !reflect.DeepEqual(g, want) {
			t.Errorf("include %v:\n got %q\nwant %q (Tekton's FanOut)", incs, g, want)
		}
	}
}
