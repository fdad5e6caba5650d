package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseManifests: no input may panic the parser; whatever it accepts is
// one of the supported kinds. The seed corpus (the test/testdata pipelines
// and small edge cases) runs in the normal test suite.
func FuzzParseManifests(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "test", "testdata", "*", "input.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",
		"---\n---\n",
		"apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nspec: {tasks: [{taskRef: {bundle: x}}]}\n",
		"apiVersion: tekton.dev/v1beta1\nkind: PipelineRun\nspec: {pipelineRef: {bundle: 1}}\n",
		"apiVersion: v1\nkind: List\nitems: [1, {kind: List}]\n",
		`{"apiVersion":"tekton.dev/v1","kind":"TaskRun","spec":{"params":[{"name":"a","value":{"k":"v"}}]}}`,
		"apiVersion: tekton.dev/v1beta1\nkind: TaskRun\nspec: {taskSpec: {steps: [{}]}, podTemplate: {}}\n",
		"&a [*a, *a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := ParseBytes(data, "fuzz")
		if err != nil {
			return
		}
		for _, d := range docs {
			if typeName(d.Object) == "?" {
				t.Fatalf("accepted an unsupported object %T", d.Object)
			}
		}
	})
}
