package customrun

import (
	"time"

	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	"github.com/tektoncd/pipeline/test/parse"
	"knative.dev/pkg/apis"

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
					found = found || (v.Check == tc.wantCheck && strings.Contains(v.Subject, "step=compile"))
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
