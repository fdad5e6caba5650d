package bundle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/test/fixture"
)

func client(t *testing.T) *oci.Client {
	t.Helper()
	c, err := oci.New(oci.Options{Timeout: 5 * time.Second, Retries: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const stepActionYAML = `apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata:
  name: git-clone
spec:
  image: registry.example.com/git@sha256:0000000000000000000000000000000000000000000000000000000000000000
  script: git clone
`

const v1beta1TaskYAML = `apiVersion: tekton.dev/v1beta1
kind: Task
metadata:
  name: old-task
spec:
  steps:
  - name: s
    image: alpine
`

func TestContract(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	task := fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build", "alpine"))
	many := make([]fixture.BundleLayer, MaxObjects+1)
	for i := range many {
		n := fmt.Sprintf("t%d", i)
		many[i] = fixture.ObjectLayer("task", n, fixture.TaskYAML(n, "alpine"))
	}
	twenty := many[:MaxObjects]

	tests := []struct {
		name   string
		layers []fixture.BundleLayer
		want   string // substring of the one problem; "" for none
	}{
		{name: "well formed", layers: []fixture.BundleLayer{task, fixture.ObjectLayer("pipeline", "ci", fixture.PipelineYAML("ci", "b", "build"))}},
		{name: "twenty layers", layers: twenty},
		{name: "raw layer", layers: []fixture.BundleLayer{{Kind: "task", Name: "build", APIVersion: "v1", Raw: fixture.TaskYAML("build", "alpine")}}},
		{name: "v1beta1 task", layers: []fixture.BundleLayer{fixture.ObjectLayer("task", "old-task", []byte(v1beta1TaskYAML))}},
		{name: "stepaction", layers: []fixture.BundleLayer{fixture.ObjectLayer("stepaction", "git-clone", []byte(stepActionYAML))}},
		{name: "more than 20 layers", layers: many, want: "at most 20 layers"},
		{name: "missing name annotation", layers: []fixture.BundleLayer{{Annotations: map[string]string{AnnotationKind: "task", AnnotationAPIVersion: "v1"},
			Files: task.Files}}, want: "missing annotation " + AnnotationName},
		{name: "kind not lowercase", layers: []fixture.BundleLayer{{Annotations: map[string]string{AnnotationKind: "Task", AnnotationName: "build", AnnotationAPIVersion: "v1"},
			Files: task.Files}}, want: "lowercase and singular"},
		{name: "kind plural", layers: []fixture.BundleLayer{{Annotations: map[string]string{AnnotationKind: "tasks", AnnotationName: "build", AnnotationAPIVersion: "v1"},
			Files: task.Files}}, want: "lowercase and singular"},
		{name: "two files in a tar", layers: []fixture.BundleLayer{{Kind: "task", Name: "build", APIVersion: "v1",
			Files: []fixture.TarFile{task.Files[0], {Name: "extra.yaml", Data: fixture.TaskYAML("extra", "alpine")}}}}, want: "exactly one file"},
		{name: "two objects in one file", layers: []fixture.BundleLayer{{Kind: "task", Name: "build", APIVersion: "v1",
			Files: []fixture.TarFile{{Name: "x.yaml", Data: append(append(fixture.TaskYAML("build", "alpine"), "---\n"...), fixture.TaskYAML("b2", "alpine")...)}}}},
			want: "exactly one object per layer"},
		{name: "kind differs from annotation", layers: []fixture.BundleLayer{fixture.ObjectLayer("pipeline", "build", fixture.TaskYAML("build", "alpine"))},
			want: "holds a Task but annotation"},
		{name: "name differs from annotation", layers: []fixture.BundleLayer{fixture.ObjectLayer("task", "deploy", fixture.TaskYAML("build", "alpine"))},
			want: `holds task "build" but annotation`},
		{name: "duplicate object", layers: []fixture.BundleLayer{task, task}, want: "one object per kind and name"},
		{name: "not a Tekton object", layers: []fixture.BundleLayer{{Kind: "task", Name: "build", APIVersion: "v1", Raw: []byte("just: [text")}},
			want: "not a Tekton object"},
	}
	c := client(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := fixture.PushBundle(t, reg.Repo("bundles/"+strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")))+":v1", tc.layers...)
			problems, err := Check(context.Background(), c, d)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if tc.want == "" {
				if len(problems) != 0 {
					t.Fatalf("problems %q, want none", problems)
				}
				return
			}
			if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
				t.Fatalf("problems %q, want one mentioning %q", problems, tc.want)
			}
		})
	}
}

func TestResolver(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	ref := reg.Repo("bundles/app") + ":v1"
	d := fixture.PushBundle(t, ref,
		fixture.ObjectLayer("task", "build", fixture.TaskYAML("build", "alpine")),
		fixture.ObjectLayer("task", "old-task", []byte(v1beta1TaskYAML)),
		fixture.ObjectLayer("stepaction", "git-clone", []byte(stepActionYAML)),
		fixture.ObjectLayer("pipeline", "ci", fixture.PipelineYAML("ci", ref, "build")))
	bad := fixture.PushBundle(t, reg.Repo("bundles/bad")+":v1", fixture.ObjectLayer("task", "deploy", fixture.TaskYAML("build", "alpine")))
	r := NewResolver(client(t))
	ctx := context.Background()

	check := func(kind, objName string, want func(any) bool) {
		t.Helper()
		res, err := r.Resolve(ctx, gate.Ref{Kind: kind, Name: objName, Resolver: "bundles", Bundle: d.String()})
		if err != nil {
			t.Fatalf("Resolve %s %s: %v", kind, objName, err)
		}
		if !want(res.Object) || res.BundleDigest != d.String() {
			t.Fatalf("Resolve %s %s: got %T from %s", kind, objName, res.Object, res.BundleDigest)
		}
	}
	check(gate.KindTask, "build", func(o any) bool { tk, ok := o.(*v1.Task); return ok && tk.Spec.Steps[0].Image == "alpine" })
	check(gate.KindTask, "old-task", func(o any) bool { _, ok := o.(*v1.Task); return ok })
	check(gate.KindStepAction, "git-clone", func(o any) bool { _, ok := o.(*v1beta1.StepAction); return ok })
	check(gate.KindPipeline, "ci", func(o any) bool { p, ok := o.(*v1.Pipeline); return ok && len(p.Spec.Tasks) == 1 })

	if _, err := r.Resolve(ctx, gate.Ref{Kind: gate.KindTask, Name: "missing", Bundle: d.String()}); !errors.Is(err, gate.ErrNotFound) {
		t.Fatalf("missing object: %v, want ErrNotFound", err)
	}
	if _, err := r.Resolve(ctx, gate.Ref{Kind: gate.KindTask, Name: "x", Resolver: "git"}); !errors.Is(err, gate.ErrUnsupported) {
		t.Fatalf("git reference: %v, want ErrUnsupported", err)
	}
	var ce *ContractError
	if _, err := r.Resolve(ctx, gate.Ref{Kind: gate.KindTask, Name: "deploy", Bundle: bad.String()}); !errors.As(err, &ce) {
		t.Fatalf("malformed bundle: %v, want a ContractError", err)
	}
	missing := reg.Repo("bundles/none") + ":v1"
	if _, err := r.Resolve(ctx, gate.Ref{Kind: gate.KindTask, Name: "x", Bundle: missing}); !errors.Is(err, gate.ErrNotFound) {
		t.Fatalf("missing bundle: %v, want ErrNotFound", err)
	}
}
