package customrun

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	"github.com/tektoncd/pipeline/test/diff"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/controller"

	"github.com/security-gate/security-gate/pkg/gate"
)

func seeded(t *testing.T, run *v1beta1.CustomRun) test.Data {
	t.Helper()
	return test.Data{CustomRuns: []*v1beta1.CustomRun{run}, PipelineRuns: []*v1.PipelineRun{pipelineRun(t, true)}}
}

// updateSpec changes the stored CustomRun's spec as the PipelineRun
// reconciler would (cancel).
func (h *harness) updateSpec(t *testing.T, f func(*v1beta1.CustomRun)) {
	t.Helper()
	run, err := h.assets.Clients.Pipeline.TektonV1beta1().CustomRuns("ci").Get(h.assets.Ctx, "release-42-gate", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f(run)
	if _, err := h.assets.Clients.Pipeline.TektonV1beta1().CustomRuns("ci").Update(h.assets.Ctx, run, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestCancelWhileRegistryStalls(t *testing.T) {
	eng := &fakeEngine{block: true}
	h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
	run, _ := h.reconcile(t)
	if c := run.Status.GetCondition(apis.ConditionSucceeded); c.Reason != ReasonVerifying {
		t.Fatalf("first reconcile: condition %+v, want Verifying", c)
	}
	j := h.inFlight(run)
	if j == nil {
		t.Fatal("no verification started")
	}
	h.updateSpec(t, func(r *v1beta1.CustomRun) {
		r.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
		r.Spec.StatusMessage = v1beta1.CustomRunCancelledByPipelineMsg
	})
	run, err := h.reconcile(t)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	c := run.Status.GetCondition(apis.ConditionSucceeded)
	if !c.IsFalse() || c.Reason != ReasonCancelled || c.Message != string(v1beta1.CustomRunCancelledByPipelineMsg) {
		t.Fatalf("condition %+v, want False/%s with the PipelineRun's message", c, ReasonCancelled)
	}
	// The stalled verification was told to stop: its context is cancelled,
	// so it returns (this receive would block forever otherwise).
	<-j.done
}

func TestTimeoutWhileRegistryStalls(t *testing.T) {
	for _, retries := range []int{0, 1} {
		t.Run(fmt.Sprintf("retries=%d", retries), func(t *testing.T) {
			eng := &fakeEngine{block: true}
			run := gateRun(t, func(r *v1beta1.CustomRun) {
				r.Spec.Timeout = &metav1.Duration{Duration: time.Minute}
				r.Spec.Retries = retries
			})
			h := newHarness(t, seeded(t, run), nil, defaultPolicies(), eng, nil)
			var got *v1beta1.CustomRun
			for attempt := 0; attempt <= retries; attempt++ {
				got, _ = h.reconcile(t)
				j := h.inFlight(got)
				if j == nil || j.attempt != attempt {
					t.Fatalf("attempt %d: no verification started", attempt)
				}
				h.clock.Step(2 * time.Minute)
				got, _ = h.reconcile(t)
				<-j.done // cancelled by the timeout handling
			}
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			if !c.IsFalse() || c.Reason != ReasonTimedOut || !strings.Contains(c.Message, "no verdict within spec.timeout 1m0s") {
				t.Fatalf("condition %+v, want False/%s", c, ReasonTimedOut)
			}
			if n := len(got.Status.RetriesStatus); n != retries {
				t.Errorf("retriesStatus has %d entries, want %d", n, retries)
			}
			for i, rs := range got.Status.RetriesStatus {
				if rc := rs.GetCondition(apis.ConditionSucceeded); !rc.IsFalse() || rc.Reason != ReasonTimedOut {
					t.Errorf("retriesStatus[%d] condition %+v, want False/%s", i, rc, ReasonTimedOut)
				}
			}
			if v := resultsMap(got)[ResultVerdict]; v != "error" {
				t.Errorf("verdict result %q, want error", v)
			}
		})
	}
}

func TestSecondReconcileAfterCompletionChangesNothing(t *testing.T) {
	eng := &fakeEngine{reports: []*gate.Report{failReport}}
	h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
	done, _ := h.settle(t, 10)
	if !done.IsDone() {
		t.Fatalf("run not done: %+v", done.Status)
	}
	first := h.events()
	h.clock.Step(time.Hour) // even past the timeout
	again, err := h.reconcile(t)
	if err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	if d := diff.PrintWantGot(cmpDiff(done, again)); cmpDiff(done, again) != "" {
		t.Errorf("a finished run changed %s", d)
	}
	if evs := h.events(); len(evs) != 0 || len(first) != 1 {
		t.Errorf("events: first %q, then %q; want exactly one in all", first, evs)
	}
	if eng.calls != 1 {
		t.Errorf("engine ran %d times, want 1", eng.calls)
	}
}

func TestEngineGetsTheRun(t *testing.T) {
	eng := &fakeEngine{reports: []*gate.Report{passReport}}
	var gotNS, gotSA string
	h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
	h.r.Keychain = func(_ context.Context, ns, sa string, _ []string) (authnKeychain, error) {
		gotNS, gotSA = ns, sa
		return emptyKeychain(), nil
	}
	if run, _ := h.settle(t, 10); !run.IsSuccessful() {
		t.Fatalf("run did not pass: %+v", run.Status)
	}
	if gotNS != "ci" || gotSA != "builder" {
		t.Errorf("keychain for %s/%s, want ci/builder (the run's namespace and service account)", gotNS, gotSA)
	}
	o, in := eng.opts[0], eng.inputs[0]
	if o.GateTask != "gate" {
		t.Errorf("GateTask = %q, want the run's pipeline task \"gate\"", o.GateTask)
	}
	if !o.RequireGate || !in.Live {
		t.Errorf("RequireGate = %v, Live = %v: want the recorded pipeline judged, and required to hold a gate", o.RequireGate, in.Live)
	}
	if _, ok := o.Resolver.(gate.BundlePinner); !ok {
		t.Errorf("resolver %T does not pin bundles", o.Resolver)
	}
	if _, ok := o.Verifier.(fakeVerifier); !ok {
		t.Errorf("verifier = %T, want the factory's", o.Verifier)
	}
	if len(in.Objects) != 1 {
		t.Fatalf("input objects = %v, want the PipelineRun", in.Objects)
	}
	pr, ok := in.Objects[0].(*v1.PipelineRun)
	if !ok || pr.Name != "release-42" || pr.Kind != "PipelineRun" || pr.Status.PipelineSpec == nil {
		t.Errorf("input object = %#v, want pipelinerun release-42 with its TypeMeta and status", in.Objects[0])
	}
	if d := cmpDiff([]string{"registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"}, in.Images); d != "" {
		t.Errorf("images %s", diff.PrintWantGot(d))
	}
	if eng.specs[0].Mode != "Enforce" || eng.specs[0].GateOrder != "Enforce" {
		t.Errorf("policy spec not defaulted: %+v", eng.specs[0])
	}
}

func TestResultsStayUnderTheLimit(t *testing.T) {
	big := &gate.Report{Verdict: gate.VerdictFail}
	for i := 0; i < 100; i++ {
		big.Violations = append(big.Violations, gate.Finding{Check: gate.CheckImageSignature,
			Subject: gate.ImageSubject(fmt.Sprintf("registry.example.com/team/app-%03d@sha256:%064d", i, i)),
			Message: strings.Repeat("no signature by any key of authority release; ", 10)})
	}
	for i := 0; i < 20; i++ {
		big.VerifiedImages = append(big.VerifiedImages, fmt.Sprintf("registry.example.com/ok-%02d@sha256:%064d", i, i))
	}
	eng := &fakeEngine{reports: []*gate.Report{big}}
	h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
	run, _ := h.settle(t, 10)
	if c := run.Status.GetCondition(apis.ConditionSucceeded); c.Reason != ReasonPolicyViolation {
		t.Fatalf("condition %+v, want PolicyViolation", c)
	}
	total := 0
	for _, r := range run.Status.Results {
		total += len(r.Name) + len(r.Value)
	}
	if total > MaxResultsBytes {
		t.Errorf("results take %d bytes, want at most %d", total, MaxResultsBytes)
	}
	res := resultsMap(run)
	var rep compactReport
	if err := json.Unmarshal([]byte(res[ResultReport]), &rep); err != nil {
		t.Fatalf("report result is not JSON: %v", err)
	}
	if rep.Omitted == 0 || rep.Omitted+len(rep.Violations) != 100 || !strings.Contains(rep.Note, "status.extraFields.report") {
		t.Errorf("truncation not visible: omitted=%d kept=%d note=%q", rep.Omitted, len(rep.Violations), rep.Note)
	}
	if len(rep.Violations) == 0 {
		t.Errorf("no finding kept at all")
	}
	var imgs []string
	if err := json.Unmarshal([]byte(res[ResultVerifiedImages]), &imgs); err != nil || len(imgs) != 20 {
		t.Errorf("verified-images = %q, want all 20 (never truncated)", res[ResultVerifiedImages])
	}
	var ef extraFields
	if err := run.Status.DecodeExtraFields(&ef); err != nil || ef.Report == nil || len(ef.Report.Violations) != 100 {
		t.Errorf("extraFields does not hold the full report: %v", err)
	}
	if res[ResultViolations] != "100" {
		t.Errorf("violations = %q, want 100 (the true count)", res[ResultViolations])
	}
}

func TestBuildResultsSmallReportIsComplete(t *testing.T) {
	res, err := buildResults(failReport)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, r := range res {
		names = append(names, r.Name)
	}
	if d := cmpDiff([]string{ResultVerdict, ResultViolations, ResultReport, ResultVerifiedImages}, names); d != "" {
		t.Errorf("result order %s", diff.PrintWantGot(d))
	}
	var rep compactReport
	if err := json.Unmarshal([]byte(res[2].Value), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Omitted != 0 || rep.Note != "" || len(rep.Violations) != 2 {
		t.Errorf("small report was truncated: %+v", rep)
	}
}

var _ = corev1.ConditionTrue

// The wait before another try grows with how long the attempt has been
// undecided, from a second to retry-backoff-max, measured on the attempt's
// recorded start time (so a restarted controller keeps the pace).
func TestBackoff(t *testing.T) {
	start := metav1.NewTime(testNow)
	for _, tc := range []struct {
		name    string
		start   *metav1.Time
		elapsed time.Duration
		want    time.Duration
	}{
		{"at once: a second", &start, 0, time.Second},
		{"half a second in", &start, 500 * time.Millisecond, time.Second},
		{"ten seconds in", &start, 10 * time.Second, 10 * time.Second},
		{"an hour in: capped", &start, time.Hour, 2 * time.Minute},
		{"no start time yet", nil, time.Hour, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &v1beta1.CustomRun{Status: v1beta1.CustomRunStatus{CustomRunStatusFields: v1beta1.CustomRunStatusFields{StartTime: tc.start}}}
			if got := backoff(run, testNow.Add(tc.elapsed), 2*time.Minute); got != tc.want {
				t.Errorf("backoff = %s, want %s", got, tc.want)
			}
		})
	}
}

// After a transient failure the next try waits for its backoff, however
// often the run is reconciled meanwhile (its own status update, a
// PipelineRun event), and starts once the backoff has passed.
func TestRetryWaitsForItsBackoff(t *testing.T) {
	eng := &fakeEngine{reports: []*gate.Report{transientReport, passReport}}
	started := gateRun(t, func(r *v1beta1.CustomRun) {
		// The attempt started 10s before its first try (it waited for the
		// PipelineRun's pipelineSpec, say).
		markStarted(r, testNow.Add(-10*time.Second))
	})
	h := newHarness(t, seeded(t, started), nil, defaultPolicies(), eng, nil)
	run, _ := h.reconcile(t)
	<-h.uncollected(run).done
	var err error
	for i := 0; i < 5; i++ {
		run, err = h.reconcile(t)
	}
	c := run.Status.GetCondition(apis.ConditionSucceeded)
	requeue, after := controller.IsRequeueKey(err)
	if eng.calls != 1 || c.Reason != ReasonVerifying || !strings.Contains(c.Message, "Could not decide yet, retrying") || !requeue {
		t.Fatalf("after 5 reconciles within the backoff: %d engine calls, condition %+v, %v; want 1 call, Verifying, a requeue", eng.calls, c, err)
	}
	if want := 10 * time.Second; after != want {
		t.Errorf("requeued after %s, want %s (as long as the attempt has been undecided)", after, want)
	}
	h.clock.Step(after)
	if run, _ = h.settle(t, 5); !run.IsSuccessful() || eng.calls != 2 {
		t.Fatalf("after the backoff: %d engine calls, status %+v; want the second try to pass", eng.calls, run.Status)
	}
}

// A controller that restarts, or a replica that takes over, while a run
// backs off after a transient failure has no memory of it: it verifies
// again at once, and the run still ends with one outcome and one Event.
func TestTakeOverDuringBackoff(t *testing.T) {
	eng := &fakeEngine{reports: []*gate.Report{transientReport, passReport}}
	h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
	run, _ := h.reconcile(t)
	<-h.uncollected(run).done
	if run, _ = h.reconcile(t); run.Status.GetCondition(apis.ConditionSucceeded).Reason != ReasonVerifying {
		t.Fatalf("after a transient failure: %+v, want Verifying", run.Status)
	}
	h.r.verifications = newVerifications(h.clock) // what a new process starts with
	run, _ = h.settle(t, 5)
	if !run.IsSuccessful() || eng.calls != 2 {
		t.Fatalf("after the take-over: %d engine calls, status %+v; want one more try, passed", eng.calls, run.Status)
	}
	if evs := h.events(); len(evs) != 1 || !strings.HasPrefix(evs[0], "Normal Passed") {
		t.Errorf("events %q, want exactly one Passed", evs)
	}
}

// A reconcile that reads the run from a lister not yet updated with the
// verdict (the status write is in, its watch event is not) neither verifies
// again nor announces the verdict a second time: it adopts the stored
// status. Before, the report was forgotten once delivered, so the stale
// read started a new verification and a second verdict Event followed.
func TestStaleReadAfterVerdictAnnouncesOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report *gate.Report
		reason string
	}{
		{"pass", passReport, ReasonPassed},
		{"violation", failReport, ReasonPolicyViolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := &fakeEngine{reports: []*gate.Report{tc.report}}
			h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
			run, _ := h.reconcile(t) // starts the verification
			stale := run.DeepCopy()  // what a lister behind the verdict holds
			<-h.uncollected(run).done
			done, _ := h.reconcile(t)
			if !done.IsDone() {
				t.Fatalf("run not done after the verification: %+v", done.Status)
			}
			first := h.events()

			if ev := h.r.ReconcileKind(h.assets.Ctx, stale); ev != nil {
				t.Fatalf("reconcile of the stale copy returned %v, want nil", ev)
			}
			if c := stale.Status.GetCondition(apis.ConditionSucceeded); c == nil || c.Reason != tc.reason {
				t.Errorf("stale copy's condition after the reconcile %+v, want the stored %s", c, tc.reason)
			}
			if d := cmpDiff(done.Status, stale.Status); d != "" {
				t.Errorf("the stale copy did not adopt the stored status (-stored +got):\n%s", d)
			}
			if evs := h.events(); len(first) != 1 || len(evs) != 0 {
				t.Errorf("events: first %q, then %q; want exactly one in all", first, evs)
			}
			if eng.calls != 1 {
				t.Errorf("engine ran %d times, want 1", eng.calls)
			}
		})
	}
}

// A gate whose PipelineRun was cancelled or finished ends as cancelled even
// when Tekton's patch of the CustomRun's spec.status never reaches it; a
// gracefully stopped run lets the gate go on to its verdict.
func TestOwnerEndedWhileRegistryStalls(t *testing.T) {
	for _, tc := range []struct {
		name      string
		owner     func(*v1.PipelineRun)
		wantEnded bool
		wantMsg   string
	}{
		{name: "cancelled", owner: func(pr *v1.PipelineRun) { pr.Spec.Status = v1.PipelineRunSpecStatusCancelled },
			wantEnded: true, wantMsg: "was cancelled (spec.status Cancelled)"},
		{name: "cancelled-run-finally", owner: func(pr *v1.PipelineRun) { pr.Spec.Status = v1.PipelineRunSpecStatusCancelledRunFinally },
			wantEnded: true, wantMsg: "was cancelled (spec.status CancelledRunFinally)"},
		{name: "finished", owner: func(pr *v1.PipelineRun) {
			pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "PipelineRunTimeout"})
		}, wantEnded: true, wantMsg: "finished before the verification did"},
		{name: "stopped-run-finally", owner: func(pr *v1.PipelineRun) { pr.Spec.Status = v1.PipelineRunSpecStatusStoppedRunFinally }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := &fakeEngine{block: true}
			h := newHarness(t, seeded(t, gateRun(t)), nil, defaultPolicies(), eng, nil)
			run, _ := h.reconcile(t)
			j := h.inFlight(run)
			if j == nil {
				t.Fatal("no verification started")
			}
			pr, err := h.assets.Informers.PipelineRun.Lister().PipelineRuns("ci").Get(run.Labels["tekton.dev/pipelineRun"])
			if err != nil {
				t.Fatal(err)
			}
			pr = pr.DeepCopy()
			tc.owner(pr)
			if err := h.assets.Informers.PipelineRun.Informer().GetIndexer().Update(pr); err != nil {
				t.Fatal(err)
			}
			run, _ = h.reconcile(t)
			c := run.Status.GetCondition(apis.ConditionSucceeded)
			if !tc.wantEnded {
				if c.Reason != ReasonVerifying || h.inFlight(run) == nil {
					t.Fatalf("condition %+v, want the verification to go on", c)
				}
				return
			}
			if !c.IsFalse() || c.Reason != ReasonCancelled || !strings.Contains(c.Message, tc.wantMsg) {
				t.Fatalf("condition %+v, want False/%s saying %q", c, ReasonCancelled, tc.wantMsg)
			}
			<-j.done // the stalled verification was told to stop
		})
	}
}
