package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/pkg/gate"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kinds   []string // %T of each object
		wantErr string   // substring; empty: success
	}{{
		name:  "v1 pipeline run and pipeline, multi-document",
		in:    "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: a}\nspec: {pipelineRef: {name: p}}\n---\napiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {tasks: []}\n",
		kinds: []string{"*v1.PipelineRun", "*v1.Pipeline"},
	}, {
		name:  "JSON document",
		in:    `{"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"t"},"spec":{"steps":[{"name":"s","image":"alpine"}]}}`,
		kinds: []string{"*v1.Task"},
	}, {
		name:  "v1beta1 task and taskrun converted to v1",
		in:    "apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine}]}\n---\napiVersion: tekton.dev/v1beta1\nkind: TaskRun\nmetadata: {name: r}\nspec: {taskRef: {name: t}}\n",
		kinds: []string{"*v1.Task", "*v1.TaskRun"},
	}, {
		name:  "v1beta1 pipeline and pipelinerun converted",
		in:    "apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nmetadata: {name: p}\nspec: {tasks: [{name: a, taskRef: {name: t}}]}\n---\napiVersion: tekton.dev/v1beta1\nkind: PipelineRun\nmetadata: {name: r}\nspec: {pipelineRef: {name: p}}\n",
		kinds: []string{"*v1.Pipeline", "*v1.PipelineRun"},
	}, {
		name:  "StepAction stays v1beta1",
		in:    "apiVersion: tekton.dev/v1beta1\nkind: StepAction\nmetadata: {name: s}\nspec: {image: alpine}\n",
		kinds: []string{"*v1beta1.StepAction"},
	}, {
		name:  "empty documents and comments are skipped",
		in:    "---\n# nothing\n---\n\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {}\n---\n",
		kinds: []string{"*v1.Task"},
	}, {
		name:  "List expands its items",
		in:    "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: tekton.dev/v1, kind: Task, metadata: {name: a}, spec: {}}\n- {apiVersion: tekton.dev/v1, kind: Task, metadata: {name: b}, spec: {}}\n",
		kinds: []string{"*v1.Task", "*v1.Task"},
	}, {
		name:    "unknown kind names the document",
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		wantErr: `in.yaml: document 2: unsupported apiVersion "v1" for kind "ConfigMap"`,
	}, {
		name:    "unknown tekton kind",
		in:      "apiVersion: tekton.dev/v1\nkind: CustomRun\nmetadata: {name: c}\n",
		wantErr: `document 1: unsupported kind "CustomRun"`,
	}, {
		name:    "unknown field is an error",
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: a, securityContex: {}}]}\n",
		wantErr: `document 1: Task tekton.dev/v1: unknown field "spec.steps[0].securityContex"`,
	}, {
		name:    "missing kind",
		in:      "apiVersion: tekton.dev/v1\nmetadata: {name: t}\n",
		wantErr: "document 1: apiVersion and kind are required",
	}, {
		name:    "not YAML",
		in:      "apiVersion: [\n",
		wantErr: "document 1:",
	}, {
		name:    "a scalar document",
		in:      "just text\n",
		wantErr: "document 1: a document must be an object",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseBytes([]byte(tt.in), "in.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				var me *Error
				if !errors.As(err, &me) || me.Source != "in.yaml" {
					t.Fatalf("error %v is not a *Error naming the source", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var kinds []string
			for _, d := range docs {
				kinds = append(kinds, typeName(d.Object))
			}
			if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
				t.Fatalf("kinds = %v, want %v", kinds, tt.kinds)
			}
		})
	}
}

func typeName(o any) string {
	switch o.(type) {
	case *v1.PipelineRun:
		return "*v1.PipelineRun"
	case *v1.Pipeline:
		return "*v1.Pipeline"
	case *v1.TaskRun:
		return "*v1.TaskRun"
	case *v1.Task:
		return "*v1.Task"
	case *v1beta1.StepAction:
		return "*v1beta1.StepAction"
	}
	return "?"
}

func TestLegacyBundle(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		annotation string
		check      func(t *testing.T, docs []Document)
	}{{
		name: "v1beta1 pipeline task bundle field becomes the resolver form",
		in: `apiVersion: tekton.dev/v1beta1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - name: build
    taskRef: {name: buildah, bundle: "reg.example/b:1"}
  finally:
  - name: notify
    taskRef: {name: notify}
`,
		annotation: "task/build",
		check: func(t *testing.T, docs []Document) {
			p := docs[0].Object.(*v1.Pipeline)
			ref := p.Spec.Tasks[0].TaskRef
			if ref.Resolver != "bundles" || ref.Name != "" {
				t.Fatalf("taskRef = %+v, want resolver bundles and no name", ref)
			}
			want := map[string]string{"bundle": "reg.example/b:1", "name": "buildah", "kind": "task"}
			for _, p := range ref.Params {
				if want[p.Name] != p.Value.StringVal {
					t.Errorf("param %s = %q, want %q", p.Name, p.Value.StringVal, want[p.Name])
				}
				delete(want, p.Name)
			}
			if len(want) != 0 {
				t.Errorf("missing params %v", want)
			}
			if p.Spec.Finally[0].TaskRef.Name != "notify" || p.Spec.Finally[0].TaskRef.Resolver != "" {
				t.Errorf("finally taskRef changed: %+v", p.Spec.Finally[0].TaskRef)
			}
		},
	}, {
		name: "pipelineRun pipelineRef bundle and embedded pipeline",
		in: `apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: r, annotations: {keep: me}}
spec:
  pipelineRef: {name: p, bundle: "reg.example/p@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
`,
		annotation: "pipelineRef",
		check: func(t *testing.T, docs []Document) {
			pr := docs[0].Object.(*v1.PipelineRun)
			if pr.Spec.PipelineRef.Resolver != "bundles" {
				t.Fatalf("pipelineRef = %+v", pr.Spec.PipelineRef)
			}
			if pr.Annotations["keep"] != "me" {
				t.Errorf("existing annotations lost: %v", pr.Annotations)
			}
		},
	}, {
		name:       "bundle field in a v1 taskrun is accepted too",
		in:         "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec: {taskRef: {name: t, bundle: reg.example/t:1}}\n",
		annotation: "taskRef",
		check: func(t *testing.T, docs []Document) {
			if docs[0].Object.(*v1.TaskRun).Spec.TaskRef.Resolver != "bundles" {
				t.Fatal("not rewritten")
			}
		},
	}, {
		name:       "no legacy field, no annotation",
		in:         "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec: {taskRef: {name: t}}\n",
		annotation: "",
		check:      func(t *testing.T, docs []Document) {},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseBytes([]byte(tt.in), "in.yaml")
			if err != nil {
				t.Fatal(err)
			}
			var ann map[string]string
			switch o := docs[0].Object.(type) {
			case *v1.Pipeline:
				ann = o.Annotations
			case *v1.PipelineRun:
				ann = o.Annotations
			case *v1.TaskRun:
				ann = o.Annotations
			}
			if got := ann[gate.AnnotationLegacyBundleRefs]; got != tt.annotation {
				t.Errorf("annotation = %q, want %q", got, tt.annotation)
			}
			tt.check(t, docs)
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	task := func(name string) string {
		return "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: " + name + "}\nspec: {}\n"
	}
	write("a.yaml", task("a"))
	write("sub/b.yml", task("b"))
	write("sub/deeper/c.json", `{"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"c"},"spec":{}}`)
	write("sub/README.md", "not a manifest")
	write("bad/broken.yaml", task("x")+"---\nkind: Nope\napiVersion: tekton.dev/v1\n")

	tests := []struct {
		name    string
		paths   []string
		stdin   string
		want    []string
		wantErr string
	}{
		{name: "directory recursively, lexical order", paths: []string{filepath.Join(dir, "sub")}, want: []string{"b", "c"}},
		{name: "file and stdin", paths: []string{filepath.Join(dir, "a.yaml"), "-"}, stdin: task("s"), want: []string{"a", "s"}},
		{name: "bad document names file and index", paths: []string{filepath.Join(dir, "bad")}, wantErr: "broken.yaml: document 2"},
		{name: "missing file", paths: []string{filepath.Join(dir, "nope.yaml")}, wantErr: "nope.yaml"},
		{name: "stdin twice", paths: []string{"-", "-"}, wantErr: "stdin given more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Load(tt.paths, strings.NewReader(tt.stdin))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range docs {
				names = append(names, d.Object.(*v1.Task).Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("names = %v, want %v", names, tt.want)
			}
		})
	}
}
