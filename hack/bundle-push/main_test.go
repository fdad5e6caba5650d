package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/bundle"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/test/fixture"
)

const task = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build
spec:
  steps:
  - name: s
    image: alpine
`

const pipeline = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: ci
spec:
  tasks:
  - name: build
    taskRef:
      name: build
`

// TestRun pushes valid inputs as bundles our reader accepts, and refuses
// anything a Tekton bundle may not hold before touching the registry.
func TestRun(t *testing.T) {
	reg := fixture.NewRegistry(t, false)
	tests := []struct {
		name    string
		files   []string
		want    []string // kind/name in the pushed bundle
		wantErr string
	}{
		{name: "one task", files: []string{task}, want: []string{"task/build"}},
		{name: "multi-document with empty documents", files: []string{"---\n# c\n---\n" + task + "---\n" + pipeline + "---\n"}, want: []string{"task/build", "pipeline/ci"}},
		{name: "two files", files: []string{task, pipeline}, want: []string{"task/build", "pipeline/ci"}},
		{name: "a ConfigMap", files: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"}, wantErr: `kind "ConfigMap" (v1) is not allowed`},
		{name: "a Task of another group", files: []string{strings.Replace(task, "tekton.dev/v1", "example.com/v1", 1)}, wantErr: `apiVersion "example.com/v1"; expected one of tekton.dev/v1`},
		{name: "no name", files: []string{strings.Replace(task, "name: build\n", "", 1)}, wantErr: "has no metadata.name"},
		{name: "invalid name", files: []string{strings.Replace(task, "name: build", "name: Build_1", 1)}, wantErr: `metadata.name "Build_1" is not a valid name`},
		{name: "duplicate", files: []string{task, task}, wantErr: `Task "build" is also in`},
		{name: "empty", files: []string{"---\n"}, wantErr: "no Tekton object"},
		{name: "not YAML", files: []string{"kind: [\n"}, wantErr: "is not YAML"},
	}
	client, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for j, f := range tc.files {
				p := filepath.Join(t.TempDir(), "f"+string(rune('a'+j))+".yaml")
				if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			repo := reg.Repo("b/" + string(rune('a'+i)))
			var out bytes.Buffer
			err := run(paths, repo+":v1", &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run: error %v, want one containing %q", err, tc.wantErr)
				}
				if _, err := client.ResolveDigest(context.Background(), repo+":v1"); err == nil {
					t.Errorf("a refused input was pushed to %s", repo)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			d, err := name.NewDigest(strings.TrimSpace(out.String()))
			if err != nil {
				t.Fatalf("output %q is not repo@digest: %v", out.String(), err)
			}
			b, err := bundle.Read(context.Background(), client, d)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Problems) > 0 {
				t.Fatalf("bundle problems: %v", b.Problems)
			}
			var got []string
			for _, o := range b.Objects {
				got = append(got, o.Kind+"/"+o.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("bundle holds %v, want %v", got, tc.want)
			}
		})
	}
}
