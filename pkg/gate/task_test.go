package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

func TestStepActionsAndMatrix(t *testing.T) {
	const stepAction = `apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: sa}
spec:
  params: [{name: v, default: "1"}]
  image: r.example/tool:$(params.v)
  securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true}
---
`
	digestPolicy := func(level v1alpha1.SecurityContextLevel) func(*v1alpha1.SecurityGateSpec) {
		return func(s *v1alpha1.SecurityGateSpec) {
			s.Images = &v1alpha1.ImagePolicy{RequireDigest: true}
			s.SecurityContext = &v1alpha1.SecurityContextPolicy{Level: level}
		}
	}
	tests := []struct {
		name    string
		policy  func(*v1alpha1.SecurityGateSpec)
		in      string
		verdict gate.Verdict
		wants   []want
	}{{
		name: "StepAction image with the task's param through the step's param", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in:      stepAction + "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {params: [{name: tv, default: '7'}], steps: [{name: s, ref: {name: sa}, params: [{name: v, value: $(params.tv)}]}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "task/t step=s", `"r.example/tool:7"`)},
	}, {
		name: "StepAction securityContext plus stepTemplate seccomp passes restricted", policy: digestPolicy(v1alpha1.LevelRestricted),
		in:      stepAction + "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {stepTemplate: {securityContext: {seccompProfile: {type: RuntimeDefault}}}, steps: [{name: s, ref: {name: sa}}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "task/t step=s", `"r.example/tool:1"`)},
	}, {
		name: "missing StepAction: violation when content is needed", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, ref: {name: nope}}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckUnresolved, "task/t step=s", `StepAction "nope" could not be loaded`)},
	}, {
		name: "remote StepAction: unsupported", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in:      "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, ref: {resolver: git, params: [{name: url, value: u}]}}]}\n",
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckUnresolved, "task/t step=s", "StepAction from the git resolver could not be loaded")},
	}, {
		name: "matrix expands images per combination", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in: `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - name: m
    matrix: {params: [{name: os, value: [linux, windows]}]}
    taskSpec: {params: [{name: os}], steps: [{name: s, image: "r.example/build-$(params.os):1"}]}
`,
		verdict: gate.VerdictFail, wants: []want{
			v(gate.CheckImageDigest, "pipeline/p task=m step=s", "build-linux:1"),
			v(gate.CheckImageDigest, "pipeline/p task=m step=s", "build-windows:1"),
		},
	}, {
		name: "matrix from a result is an image-reference violation", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in: `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - {name: a, taskSpec: {results: [{name: r, type: array}], steps: [{name: s, image: "` + pinned + `"}]}}
  - name: m
    matrix: {params: [{name: os, value: "$(tasks.a.results.r[*])"}]}
    taskSpec: {params: [{name: os}], steps: [{name: s, image: "r.example/build-$(params.os):1"}]}
`,
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageReference, "pipeline/p task=m step=s", "a result of another task")},
	}, {
		// The include's fixed image runs whether or not its os matches a
		// value of the result: it is judged, never dropped.
		name: "matrix include beside a result-fed param is judged", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in: `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - {name: a, taskSpec: {results: [{name: r, type: array}], steps: [{name: s, image: "` + pinned + `"}]}}
  - name: m
    matrix:
      params: [{name: os, value: "$(tasks.a.results.r[*])"}]
      include: [{name: extra, params: [{name: os, value: linux}, {name: image, value: "r.example/unsigned:latest"}]}]
    taskSpec:
      params: [{name: os}, {name: image, default: "` + pinned + `"}]
      steps: [{name: s, image: "$(params.image)"}]
`,
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckImageDigest, "pipeline/p task=m step=s", `"r.example/unsigned:latest" is not pinned by digest`)},
	}, {
		name: "a matrix larger than Tekton's default limit is undecided", policy: digestPolicy(v1alpha1.LevelPrivileged),
		in: `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - name: m
    matrix: {params: [{name: a, value: [a0,a1,a2,a3,a4,a5,a6,a7,a8,a9,aa,ab,ac,ad,ae,af,ag]}, {name: b, value: [b0,b1,b2,b3,b4,b5,b6,b7,b8,b9,ba,bb,bc,bd,be,bf,bg]}]}
    taskSpec: {params: [{name: a}, {name: b}], steps: [{name: s, image: "` + pinned + `"}]}
`,
		verdict: gate.VerdictError, wants: []want{e(gate.CheckInput, "pipeline/p task=m", "the matrix has 289 parameter combinations, more than 256")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, verify(t, spec(tt.policy), tt.in, gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
