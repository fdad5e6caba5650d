package oracle

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fakeImages names images without a registry: the corpus tests only need
// references of the right shape.
type fakeImages struct{ ns string }

func (f fakeImages) ref(kind, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s image without a name", kind)
	}
	return fmt.Sprintf("127.0.0.1:5000/%s/%s-%s@sha256:%064d", f.ns, kind, name, 0), nil
}
func (f fakeImages) Signed(n string) (string, error)   { return f.ref("signed", n) }
func (f fakeImages) Unsigned(n string) (string, error) { return f.ref("unsigned", n) }
func (f fakeImages) Critical(n string) (string, error) { return f.ref("critical", n) }
func (f fakeImages) Tag(n string) (string, error) {
	return "127.0.0.1:5000/" + f.ns + "/tag-" + n + ":latest", nil
}

// TestCorpus renders every corpus file: at least 20 runs, each with a valid
// header, exactly one PipelineRun whose pipeline has the gate as a task,
// and, together, every feature the oracle is meant to exercise.
func TestCorpus(t *testing.T) {
	cases, err := LoadCorpus("corpus")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Errorf("corpus has %d runs, want at least 20", len(cases))
	}
	covered := map[string][]string{}
	names := map[string]bool{}
	for _, c := range cases {
		d := Data{Policy: "oracle-policy", Namespace: "ns-" + c.Name, Registry: "127.0.0.1:5000"}
		r, err := c.Render(d, fakeImages{ns: d.Namespace})
		if err != nil {
			t.Error(err)
			continue
		}
		if names[c.Name[:2]] {
			t.Errorf("%s: number %s used twice", c.Path, c.Name[:2])
		}
		names[c.Name[:2]] = true
		if !hasGate(r.Objects, d.Policy) {
			t.Errorf("%s: no pipeline task references ClusterSecurityGate %q ({{.Policy}})", c.Path, d.Policy)
		}
		for _, feat := range r.Features() {
			covered[feat] = append(covered[feat], c.Name)
		}
	}
	for _, feat := range AllFeatures {
		if len(covered[feat]) == 0 {
			t.Errorf("no corpus run exercises %s", feat)
		}
	}
	if !t.Failed() {
		var b strings.Builder
		for _, feat := range AllFeatures {
			fmt.Fprintf(&b, "\n  %-32s %s", feat, strings.Join(covered[feat], ", "))
		}
		t.Logf("corpus: %d runs; features:%s", len(cases), b.String())
	}
}

func hasGate(objs []*unstructured.Unstructured, policy string) bool {
	return slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool {
		text := toText(o.Object)
		return (o.GetKind() == "Pipeline" || o.GetKind() == "PipelineRun") &&
			strings.Contains(text, "securitygate.dev/v1alpha1") && strings.Contains(text, policy)
	})
}

// TestRenderRejects: a malformed case is refused with its file named.
func TestRenderRejects(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no header", "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x}\n", "want a header document"},
		{"header without pods", "oracle: {}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x}\n", "oracle.pods"},
		{"unknown level", "oracle: {pods: 1, level: privileged}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x}\n", "oracle.level"},
		{"unknown header field", "oracle: {pods: 1, podz: 2}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x}\n", "header"},
		{"no run", "oracle: {pods: 1}\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: x}\n", "no PipelineRun"},
		{"two runs", "oracle: {pods: 1}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: second}\n", "more than one PipelineRun"},
		{"own namespace", "oracle: {pods: 1}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x, namespace: prod}\n", "metadata.namespace"},
		{"bad result value", "oracle: {pods: 1, results: {a: {b: 3}}}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: x}\n", "oracle.results.a.b"},
		{"unknown template function", "oracle: {pods: 1}\n---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: '{{nope}}'}\n", "template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Case{Name: "99-bad", Path: "corpus/99-bad.yaml", text: tc.text}.Render(Data{Namespace: "ns"}, fakeImages{ns: "ns"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "corpus/99-bad.yaml") {
				t.Fatalf("Render = %v, want an error naming the file and containing %q", err, tc.want)
			}
		})
	}
}
