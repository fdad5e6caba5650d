package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

const pinned = "registry.example.com/a@sha256:1111111111111111111111111111111111111111111111111111111111111111"

func TestImages(t *testing.T) {
	task := `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params:
  - {name: img, default: "registry.example.com/a:1"}
  steps:
  - {name: s, image: $(params.img)}
`
	tests := []struct {
		name    string
		digest  bool
		in      string
		verdict gate.Verdict
		wants   []want
	}{{
		name: "tag without requireDigest passes", in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine:3}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "tag with requireDigest", digest: true, in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine:3}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "task/t step=s", `step "s" image "alpine:3" is not pinned by digest`)},
	}, {
		name: "digest passes", digest: true, in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: '" + pinned + "'}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "param default applied to a task alone", digest: true, in: task,
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "task/t step=s", `"registry.example.com/a:1"`)},
	}, {
		name: "taskrun param value overrides the default", digest: true,
		in:      task + "---\napiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskRef: {name: t}, params: [{name: img, value: '" + pinned + "'}]}\n",
		verdict: gate.VerdictPass,
	}, {
		name: "pipelinerun param flows through pipeline param into task", digest: true,
		in: task + `---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr, namespace: ci}
spec:
  params: [{name: image, value: "registry.example.com/b:2"}]
  pipelineSpec:
    params: [{name: image}]
    tasks:
    - {name: a, taskRef: {name: t}, params: [{name: img, value: $(params.image)}]}
`,
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "pipelinerun/ci/pr task=a step=s", `"registry.example.com/b:2"`)},
	}, {
		name: "unparseable image", in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: 'UPPER/Case:bad tag'}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageReference, "task/t step=s", "is not a valid image reference")},
	}, {
		name: "missing image", in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, script: echo}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageReference, "task/t step=s", "has no image")},
	}, {
		name: "param without value", in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {params: [{name: p}], steps: [{image: 'r.example/x:$(params.p)'}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageReference, "task/t step=unnamed-0", "a parameter that has no value ($(params.p))")},
	}, {
		name: "context variable", in: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: 'r.example/$(context.taskRun.namespace)/x'}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageReference, "task/t step=s", "a context variable")},
	}, {
		name: "result of another task", in: `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - {name: a, taskSpec: {results: [{name: img}], steps: [{name: s, image: alpine}]}}
  - name: b
    params: [{name: img, value: $(tasks.a.results.img)}]
    taskSpec: {params: [{name: img}], steps: [{name: s, image: $(params.img)}]}
`,
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageReference, "pipeline/p task=b step=s", "a result of another task ($(tasks.a.results.img))")},
	}, {
		name: "stepTemplate image fills a step without one", digest: true,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {stepTemplate: {image: 'alpine:3'}, steps: [{name: s, script: echo}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "task/t step=s", `"alpine:3"`)},
	}, {
		name: "sidecar image", digest: true,
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: '" + pinned + "'}], sidecars: [{name: db, image: 'postgres:16'}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "task/t sidecar=db", `sidecar "db" image "postgres:16"`)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				privileged(s)
				s.Images = &v1alpha1.ImagePolicy{RequireDigest: tt.digest}
			})
			expect(t, verify(t, s, tt.in, gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
