package gate_test

import (
	"context"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	presources "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
)

const gatedPipeline = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release, namespace: ci}
spec:
  params: [{name: image, default: "registry.example.com/app@sha256:` + hex64a + `"}]
  tasks:
  - name: gate
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}
  - name: build
    runAfter: [gate]
    taskSpec: {steps: [{name: s, image: $(params.image)}]}
`

// swappedPipeline is what an attacker leaves behind after Tekton recorded
// gatedPipeline: no gate, and an image the policy refuses.
const swappedPipeline = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release, namespace: ci}
spec:
  tasks:
  - name: build
    taskSpec: {steps: [{name: s, image: "registry.example.com/app:latest"}]}
`

const hex64a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// recordedRun is a PipelineRun of pipeline "release" whose
// status.pipelineSpec Tekton recorded from the pipeline document given,
// after its own parameter substitution (pipelinerun resources.ApplyParameters).
func recordedRun(t *testing.T, recordedFrom string) *v1.PipelineRun {
	t.Helper()
	p := objects(t, recordedFrom)[0].(*v1.Pipeline)
	pr := objects(t, "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineRef: {name: release}}\n")[0].(*v1.PipelineRun)
	spec := p.Spec.DeepCopy()
	spec.SetDefaults(context.Background())
	recorded, err := presources.ApplyParameters(spec, pr)
	if err != nil {
		t.Fatal(err)
	}
	pr.Status.PipelineSpec = recorded
	return pr
}

// TestRecordedPipelineSpec: a live PipelineRun is judged on the pipeline
// Tekton recorded in status.pipelineSpec, whatever the named Pipeline holds
// by the time the gate runs; a run given as a file is judged on its
// reference (Tekton drops a status it is created with).
func TestRecordedPipelineSpec(t *testing.T) {
	pol := spec(func(s *v1alpha1.SecurityGateSpec) {
		privileged(s)
		s.Images = &v1alpha1.ImagePolicy{RequireDigest: true}
	})
	const base = "pipelinerun/ci/pr"
	tests := []struct {
		name        string
		recorded    string // what Tekton recorded; "" for none
		live        string // the Pipeline "release" in the namespace now
		isLive      bool
		requireGate bool
		verdict     gate.Verdict
		wants       []want
	}{{
		name:     "swapped to a gated, pinned pipeline after Tekton recorded an ungated one: the recorded one is judged",
		recorded: swappedPipeline, live: gatedPipeline, isLive: true, requireGate: true, verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckGateOrder, base, "pipeline has no security gate task"),
			v(gate.CheckImageDigest, base+" task=build step=s", `"registry.example.com/app:latest" is not pinned by digest`),
		},
	}, {
		name:     "swapped to an ungated pipeline after Tekton recorded the gated one: the recorded one passes",
		recorded: gatedPipeline, live: swappedPipeline, isLive: true, requireGate: true, verdict: gate.VerdictPass,
	}, {
		name:     "recorded spec after Tekton's substitution: substituting again changes nothing",
		recorded: gatedPipeline, live: gatedPipeline, isLive: true, requireGate: true, verdict: gate.VerdictPass,
	}, {
		name: "live run whose pipelineSpec Tekton has not recorded: could not decide",
		live: gatedPipeline, isLive: true, requireGate: true, verdict: gate.VerdictError,
		wants: []want{e(gate.CheckInput, base, "has not recorded status.pipelineSpec")},
	}, {
		name:     "a status in a file is not what Tekton runs: the reference is judged",
		recorded: gatedPipeline, live: swappedPipeline, verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckImageDigest, base+" task=build step=s", `"registry.example.com/app:latest" is not pinned by digest`)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pr *v1.PipelineRun
			if tt.recorded != "" {
				pr = recordedRun(t, tt.recorded)
			} else {
				pr = objects(t, "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineRef: {name: release}}\n")[0].(*v1.PipelineRun)
			}
			res, err := local.New(objects(t, tt.live))
			if err != nil {
				t.Fatal(err)
			}
			eng := gate.New(gate.Options{Resolver: res, RequireGate: tt.requireGate})
			rep := eng.Verify(context.Background(), pol, gate.Input{Objects: []runtime.Object{pr}, Live: tt.isLive})
			expect(t, rep, tt.verdict, tt.wants...)
		})
	}
}

// TestRecordedSpecIsJudgedLikeTheSource: judging Tekton's recorded copy
// (parameters and defaults already substituted) gives the same findings as
// judging the pipeline it was recorded from, so applying the parameters a
// second time, as Tekton does on every later reconcile, is harmless.
func TestRecordedSpecIsJudgedLikeTheSource(t *testing.T) {
	const source = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release, namespace: ci}
spec:
  params:
  - {name: registry, default: registry.example.com}
  - {name: tools, type: array, default: [lint, test]}
  - {name: cfg, type: object, properties: {tag: {type: string}}, default: {tag: "1.2"}}
  tasks:
  - name: build
    params: [{name: args, value: ["$(params.tools[*])"]}, {name: tag, value: $(params.cfg.tag)}]
    taskSpec:
      params: [{name: args, type: array}, {name: tag}]
      steps:
      - {name: a, image: "$(params.tag)", args: ["$(params.args[*])"]}
      - {name: b, image: "$(params.tag)-b"}
  - name: scan
    matrix: {params: [{name: tool, value: ["$(params.tools[*])"]}]}
    taskSpec:
      params: [{name: tool}]
      steps: [{name: s, image: "$(params.tool):$(params.tool)"}]
  - name: push
    taskSpec: {steps: [{name: s, image: "$(params.registry)/app:$(params.cfg.tag)"}]}
`
	pol := spec(func(s *v1alpha1.SecurityGateSpec) {
		s.Images = &v1alpha1.ImagePolicy{RequireDigest: true}
	})
	fromFile := verify(t, pol, source+"---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineRef: {name: release}}\n", gate.Options{})
	res, _ := local.New(nil)
	recorded := gate.New(gate.Options{Resolver: res}).Verify(context.Background(), pol,
		gate.Input{Objects: []runtime.Object{recordedRun(t, source)}, Live: true})
	if len(fromFile.Violations) < 6 {
		t.Fatalf("expected the source to fail on every step, got %+v", fromFile.Violations)
	}
	key := func(r *gate.Report) map[string]bool {
		m := map[string]bool{}
		for _, f := range append(append([]gate.Finding{}, r.Violations...), r.Errors...) {
			m[f.Check+" "+f.Subject.String()+" "+f.Message] = true
		}
		return m
	}
	a, b := key(fromFile), key(recorded)
	for k := range a {
		if !b[k] {
			t.Errorf("judging the source found %q; the recorded copy did not", k)
		}
	}
	for k := range b {
		if !a[k] {
			t.Errorf("judging the recorded copy found %q; the source did not", k)
		}
	}
}
