package bundle

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/test/fixture"
)

// TestBuildRoundTrip: what Build writes, Read accepts without a contract
// problem, object by object, with the annotations Tekton's resolver reads.
func TestBuildRoundTrip(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	img, err := Build([]Source{
		{Kind: "Task", Name: "build", APIVersion: "tekton.dev/v1", YAML: fixture.TaskYAML("build", "alpine")},
		{Kind: "StepAction", Name: "git-clone", APIVersion: "tekton.dev/v1beta1", YAML: []byte(stepActionYAML)},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Layers[0].Annotations; got[AnnotationKind] != "task" || got[AnnotationName] != "build" || got[AnnotationAPIVersion] != "v1" {
		t.Errorf("layer 0 annotations = %v, want kind task, name build, apiVersion v1", got)
	}
	ref, err := name.ParseReference(reg.Repo("built/bundle") + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dg, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Read(context.Background(), client(t), ref.Context().Digest(dg.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Problems) != 0 {
		t.Fatalf("contract problems in a built bundle: %v", b.Problems)
	}
	if o, ok := b.Find("task", "build"); !ok || o.Object.(*v1.Task).Spec.Steps[0].Image != "alpine" {
		t.Errorf("task build not read back: %+v", o)
	}
	if o, ok := b.Find("stepaction", "git-clone"); !ok {
		t.Error("stepaction git-clone not read back")
	} else if _, isSA := o.Object.(*v1beta1.StepAction); !isSA {
		t.Errorf("stepaction read as %T", o.Object)
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name string
		objs []Source
		want string
	}{
		{"no name", []Source{{Kind: "Task", APIVersion: "tekton.dev/v1"}}, "kind and name are required"},
		{"no kind", []Source{{Name: "x", APIVersion: "tekton.dev/v1"}}, "kind and name are required"},
		{"too many", make([]Source, MaxObjects+1), "at most 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(tt.objs); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
