package customrun

import (
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestFilter(t *testing.T) {
	ref := func(apiVersion, kind string) *v1beta1.CustomRun {
		return &v1beta1.CustomRun{Spec: v1beta1.CustomRunSpec{CustomRef: &v1beta1.TaskRef{APIVersion: apiVersion, Kind: v1beta1.TaskKind(kind), Name: "x"}}}
	}
	spec := func(apiVersion, kind string) *v1beta1.CustomRun {
		return &v1beta1.CustomRun{Spec: v1beta1.CustomRunSpec{CustomSpec: &v1beta1.EmbeddedCustomRunSpec{TypeMeta: runtime.TypeMeta{APIVersion: apiVersion, Kind: kind}}}}
	}
	for _, tc := range []struct {
		name string
		obj  interface{}
		want bool
	}{
		{"ClusterSecurityGate ref", ref(APIVersion, "ClusterSecurityGate"), true},
		{"SecurityGate ref", ref(APIVersion, "SecurityGate"), true},
		{"inline SecurityGate", spec(APIVersion, "SecurityGate"), true},
		{"another custom task", ref("wait.testing.tekton.dev/v1beta1", "Wait"), false},
		{"our kind, another version", ref("securitygate.dev/v1", "SecurityGate"), false},
		{"no ref at all", &v1beta1.CustomRun{}, false},
		{"not a CustomRun", &v1beta1.TaskRun{}, false},
	} {
		if got := Filter(tc.obj); got != tc.want {
			t.Errorf("%s: Filter = %v, want %v", tc.name, got, tc.want)
		}
	}
}
