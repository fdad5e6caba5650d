package customrun

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	resv1beta1 "github.com/tektoncd/pipeline/pkg/apis/resolution/v1beta1"
	fakerrinformer "github.com/tektoncd/pipeline/pkg/client/resolution/injection/informers/resolution/v1beta1/resolutionrequest/fake"
	"github.com/tektoncd/pipeline/test"
	"github.com/tektoncd/pipeline/test/parse"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/controller"

	"github.com/security-gate/security-gate/pkg/gate"
)

// The real engine, fed by the real resolver over the informer listers: a
// pipeline task that references a Task by name is judged on that Task's
// content, read from the run's namespace.
func TestRealEngineThroughListers(t *testing.T) {
	const restricted = `
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      seccompProfile: {type: RuntimeDefault}`
	for _, tc := range []struct {
		name       string
		stepExtra  string
		wantReason string
		wantCheck  string
	}{
		{name: "step runs as root", wantReason: ReasonPolicyViolation, wantCheck: gate.CheckSecurityContext},
		{name: "restricted step", stepExtra: restricted, wantReason: ReasonPassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := parse.MustParseV1Task(t, `
metadata: {name: compile, namespace: ci}
spec:
  steps:
  - name: compile
    image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000`+tc.stepExtra+`
`)
			pr := pipelineRun(t, true)
			pr.Spec.PipelineSpec.Tasks[1].TaskSpec = nil
			pr.Spec.PipelineSpec.Tasks[1].TaskRef = &v1.TaskRef{Name: "compile"}
			pr.Status.PipelineSpec = pr.Spec.PipelineSpec.DeepCopy()
			run := gateRun(t, func(r *v1beta1.CustomRun) { r.Spec.Params = nil })
			d := test.Data{CustomRuns: []*v1beta1.CustomRun{run}, PipelineRuns: []*v1.PipelineRun{pr}, Tasks: []*v1.Task{task}}
			h := newHarness(t, d, nil, defaultPolicies(), &fakeEngine{}, nil)
			h.r.NewEngine = func(o gate.Options) Engine { return gate.New(o) }
			got, _ := h.settle(t, 10)
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			if c == nil || c.Reason != tc.wantReason {
				var ef extraFields
				_ = got.Status.DecodeExtraFields(&ef)
				t.Fatalf("condition %+v, want %s; report %+v", c, tc.wantReason, ef.Report)
			}
			if tc.wantCheck != "" {
				var ef extraFields
				if err := got.Status.DecodeExtraFields(&ef); err != nil {
					t.Fatal(err)
				}
				found := false
				for _, v := range ef.Report.Violations {
					found = found || (v.Check == tc.wantCheck && strings.Contains(v.Subject.String(), "step=compile"))
				}
				if !found {
					t.Errorf("no %s violation for step compile in %+v", tc.wantCheck, ef.Report.Violations)
				}
			}
		})
	}
}

// The verdict is a function of the injected clock alone: with the fake clock
// decades before or after the wall clock, the same run passes. Any place
// that mixes the reconciler's clock with time.Now (a context deadline built
// from the run's start time, say) makes one of the two fail.
func TestVerdictIndependentOfWallClock(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2199, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(at.Format("2006"), func(t *testing.T) {
			task := parse.MustParseV1Task(t, `
metadata: {name: compile, namespace: ci}
spec:
  steps:
  - name: compile
    image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      seccompProfile: {type: RuntimeDefault}
`)
			pr := pipelineRun(t, true)
			pr.Spec.PipelineSpec.Tasks[1].TaskSpec = nil
			pr.Spec.PipelineSpec.Tasks[1].TaskRef = &v1.TaskRef{Name: "compile"}
			pr.Status.PipelineSpec = pr.Spec.PipelineSpec.DeepCopy()
			run := gateRun(t, func(r *v1beta1.CustomRun) { r.Spec.Params = nil })
			d := test.Data{CustomRuns: []*v1beta1.CustomRun{run}, PipelineRuns: []*v1.PipelineRun{pr}, Tasks: []*v1.Task{task}}
			h := newHarness(t, d, nil, defaultPolicies(), &fakeEngine{}, nil)
			h.clock.SetTime(at)
			h.r.NewEngine = func(o gate.Options) Engine { return gate.New(o) }
			got, _ := h.settle(t, 10)
			if c := got.Status.GetCondition(apis.ConditionSucceeded); c == nil || c.Reason != ReasonPassed {
				t.Fatalf("clock at %s: condition %+v, want %s", at, c, ReasonPassed)
			}
			if !got.Status.StartTime.Time.Equal(at) {
				t.Errorf("start time %s, want the injected clock's %s", got.Status.StartTime, at)
			}
		})
	}
}

// The controller judges the pipeline Tekton recorded in the run's
// status.pipelineSpec, not the Pipeline object its pipelineRef names: after
// Tekton recorded a pipeline with no gate and a root step, the Pipeline is
// swapped for a compliant, gated one. The recorded pipeline fails, among
// others, gate-order: the controller requires its pipeline to hold a gate.
func TestRecordedPipelineNotTheLiveOne(t *testing.T) {
	const restricted = `
        securityContext:
          runAsNonRoot: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}`
	compliant := parse.MustParseV1Pipeline(t, `
metadata: {name: release, namespace: ci}
spec:
  tasks:
  - name: gate
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}
  - name: build
    runAfter: [gate]
    taskSpec:
      steps:
      - name: compile
        image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000`+restricted+`
`)
	recorded := parse.MustParseV1Pipeline(t, `
metadata: {name: release, namespace: ci}
spec:
  tasks:
  - name: build
    taskSpec:
      steps:
      - name: compile
        image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000
`)
	for _, tc := range []struct {
		name       string
		recorded   *v1.Pipeline
		wantReason string
		wantChecks []string
	}{
		{name: "recorded ungated pipeline, compliant live one", recorded: recorded, wantReason: ReasonPolicyViolation,
			wantChecks: []string{gate.CheckGateOrder, gate.CheckSecurityContext}},
		{name: "recorded compliant pipeline", recorded: compliant, wantReason: ReasonPassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := pipelineRun(t, false)
			pr.Spec.PipelineSpec = nil
			pr.Spec.PipelineRef = &v1.PipelineRef{Name: "release"}
			pr.Status.PipelineSpec = tc.recorded.Spec.DeepCopy()
			run := gateRun(t, func(r *v1beta1.CustomRun) { r.Spec.Params = nil })
			d := test.Data{CustomRuns: []*v1beta1.CustomRun{run}, PipelineRuns: []*v1.PipelineRun{pr}, Pipelines: []*v1.Pipeline{compliant}}
			h := newHarness(t, d, nil, defaultPolicies(), &fakeEngine{}, nil)
			h.r.NewEngine = func(o gate.Options) Engine { return gate.New(o) }
			got, _ := h.settle(t, 10)
			var ef extraFields
			_ = got.Status.DecodeExtraFields(&ef)
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			if c == nil || c.Reason != tc.wantReason {
				t.Fatalf("condition %+v, want %s; report %+v", c, tc.wantReason, ef.Report)
			}
			for _, check := range tc.wantChecks {
				found := false
				for _, v := range ef.Report.Violations {
					found = found || v.Check == check
				}
				if !found {
					t.Errorf("no %s violation in %+v", check, ef.Report.Violations)
				}
			}
		})
	}
}

// A task's ResolutionRequest that Tekton has not finished is "not yet" for
// the controller as for the CLI: the real engine, over the real resolver,
// reports it transient, so the gate stays Verifying and retries, and judges
// the task once its content is there. It never ends the run for it.
func TestResolutionNotFinishedIsRetried(t *testing.T) {
	const bundle = "registry.example.com/tasks:v1"
	const task = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build}
spec:
  steps:
  - name: compile
    image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      seccompProfile: {type: RuntimeDefault}
`
	pr := pipelineRun(t, false)
	params := v1.Params{
		{Name: "bundle", Value: *v1.NewStructuredValues(bundle)},
		{Name: "name", Value: *v1.NewStructuredValues("build")},
		{Name: "kind", Value: *v1.NewStructuredValues("task")},
	}
	pr.Spec.PipelineSpec.Tasks[1].TaskSpec = nil
	pr.Spec.PipelineSpec.Tasks[1].TaskRef = &v1.TaskRef{ResolverRef: v1.ResolverRef{Resolver: "bundles", Params: params}}
	pr.Status.PipelineSpec = pr.Spec.PipelineSpec.DeepCopy()
	rr := &resv1beta1.ResolutionRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "bundles-build", Namespace: "ci", Labels: map[string]string{"resolution.tekton.dev/type": "bundles"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: pr.Name, UID: pr.UID, Controller: ptr.To(true)}}},
		Spec: resv1beta1.ResolutionRequestSpec{Params: params},
		Status: resv1beta1.ResolutionRequestStatus{
			Status: duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown}}}},
	}
	run := gateRun(t, func(r *v1beta1.CustomRun) { r.Spec.Params = nil })
	h := newHarness(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, PipelineRuns: []*v1.PipelineRun{pr}}, nil, defaultPolicies(), &fakeEngine{}, nil)
	h.r.NewEngine = func(o gate.Options) Engine { return gate.New(o) }
	requests := fakerrinformer.Get(h.assets.Ctx).Informer().GetIndexer()
	if err := requests.Add(rr); err != nil {
		t.Fatal(err)
	}

	got, err := h.settle(t, 6)
	c := got.Status.GetCondition(apis.ConditionSucceeded)
	if requeue, _ := controller.IsRequeueKey(err); !requeue || c.Status != corev1.ConditionUnknown || c.Reason != ReasonVerifying ||
		!strings.Contains(c.Message, "Could not decide yet, retrying") || !strings.Contains(c.Message, "resolution not finished") {
		t.Fatalf("while Tekton resolves: condition %+v, last reconcile %v; want Verifying, retrying", c, err)
	}

	// Tekton finishes the resolution: the next try judges the task.
	done := rr.DeepCopy()
	done.Status.Conditions[0].Status = corev1.ConditionTrue
	done.Status.Data = base64.StdEncoding.EncodeToString([]byte(task))
	done.Status.RefSource = &v1.RefSource{URI: bundle, Digest: map[string]string{"sha256": strings.Repeat("a", 64)}, EntryPoint: "build"}
	if err := requests.Update(done); err != nil {
		t.Fatal(err)
	}
	got, _ = h.settle(t, 6)
	if c := got.Status.GetCondition(apis.ConditionSucceeded); c == nil || c.Reason != ReasonPassed {
		var ef extraFields
		_ = got.Status.DecodeExtraFields(&ef)
		t.Fatalf("after the resolution: condition %+v, want %s; report %+v", c, ReasonPassed, ef.Report)
	}
}
