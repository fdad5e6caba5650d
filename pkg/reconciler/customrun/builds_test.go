package customrun

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	v1beta1listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	"github.com/tektoncd/pipeline/test/parse"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/controller"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

const (
	builtApp     = "registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	releaseRunNS = "ci"
	releaseRun   = "release-42-release-gate"
	buildRun     = "release-42-build"
)

// releasePipelineRun is a two-gate pipeline: a pre-run gate, the build, a
// release gate fed by the build's type-hinted results.
func releasePipelineRun(t *testing.T) *v1.PipelineRun {
	t.Helper()
	pr := parse.MustParseV1PipelineRun(t, `
metadata: {name: release-42, namespace: ci, uid: pr-uid}
spec:
  pipelineSpec:
    tasks:
    - name: gate
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}
    - name: build
      runAfter: [gate]
      taskSpec:
        results: [{name: IMAGE_URL}, {name: IMAGE_DIGEST}]
        steps:
        - name: compile
          image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
    - name: release-gate
      runAfter: [build]
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
      params:
      - name: images
        value: ["$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"]
status:
  childReferences:
  - {apiVersion: tekton.dev/v1beta1, kind: CustomRun, name: release-42-gate, pipelineTaskName: gate}
  - {apiVersion: tekton.dev/v1, kind: TaskRun, name: release-42-build, pipelineTaskName: build}
  - {apiVersion: tekton.dev/v1beta1, kind: CustomRun, name: release-42-release-gate, pipelineTaskName: release-gate}
`)
	pr.Status.PipelineSpec = pr.Spec.PipelineSpec.DeepCopy()
	return pr
}

// releaseGateRun is the release gate's CustomRun, as Tekton creates it with
// the build's results substituted.
func releaseGateRun(t *testing.T) *v1beta1.CustomRun {
	t.Helper()
	return parse.MustParseCustomRun(t, `
metadata:
  name: release-42-release-gate
  namespace: ci
  uid: release-run-uid
  labels: {tekton.dev/pipelineRun: release-42, tekton.dev/pipelineTask: release-gate}
  ownerReferences:
  - {apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: pr-uid, controller: true}
spec:
  customRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
  timeout: 10m
  params:
  - name: images
    value: ["`+builtApp+`"]
`)
}

// buildTaskRun is the build's TaskRun: succeeded, reporting the image, with
// Chains' annotation signed ("" for none yet).
func buildTaskRun(t *testing.T, signed string, done bool) *v1.TaskRun {
	t.Helper()
	tr := parse.MustParseV1TaskRun(t, `
metadata:
  name: release-42-build
  namespace: ci
  uid: build-uid
  labels: {tekton.dev/pipelineRun: release-42, tekton.dev/pipelineTask: build}
  ownerReferences:
  - {apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: pr-uid, controller: true}
status:
  results:
  - {name: IMAGE_URL, type: string, value: registry.example.com/app}
  - {name: IMAGE_DIGEST, type: string, value: "sha256:1111111111111111111111111111111111111111111111111111111111111111"}
`)
	status := "Unknown"
	if done {
		status = "True"
	}
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1ConditionStatus(status), Reason: "Succeeded"})
	if signed != "" {
		tr.Annotations = map[string]string{"chains.tekton.dev/signed": signed}
	}
	return tr
}

// releasePolicies holds "release", which judges provenance (runBinding as
// given), and "strict", the pre-run gate's.
func releasePolicies(runBinding v1alpha1.ProvenanceRequirement, withProvenance bool) *fakePolicies {
	spec := v1alpha1.SecurityGateSpec{Mode: v1alpha1.ModeEnforce,
		Authorities: []v1alpha1.Authority{{Name: "chains", IgnoreTlog: true,
			Key: &v1alpha1.KeyAuthority{SecretRef: &v1alpha1.SecretKeyRef{Name: "chains-pub", Key: "cosign.pub"}}}}}
	if withProvenance {
		spec.Provenance = &v1alpha1.ProvenancePolicy{Authorities: []string{"chains"}, BuilderIDs: []string{"https://tekton.dev/chains/v2"},
			RunBinding: runBinding, TrustedCode: v1alpha1.ProvenanceOff}
	}
	p := defaultPolicies()
	p.cluster["release"] = &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "release"}, Spec: spec}
	return p
}

// TestReleaseGateWaitsForChains: a gate whose policy has spec.provenance
// waits for the TaskRun that built its image and for Chains' verdict on it,
// then gives the engine the build context; Chains "failed" is a violation;
// no verdict within the wait is could not decide; it never passes without
// the build context.
func TestReleaseGateWaitsForChains(t *testing.T) {
	for _, tc := range []struct {
		name       string
		signed     string
		buildDone  bool
		noBuild    bool // the TaskRun is not in the lister
		noLister   bool // a controller that cannot read TaskRuns
		noOwner    bool
		noProv     bool
		runBinding v1alpha1.ProvenanceRequirement
		realEngine bool
		steps      int
		// wantWait: the run is still Verifying with this message.
		wantWait string
		// wantReason/wantMsg: the run ended so.
		wantReason, wantMsg string
		// wantChains: the engine received the build with this Chains state.
		wantChains *string
	}{
		{name: "signed: the engine judges the build", signed: "true", buildDone: true, steps: 5,
			wantReason: ReasonPassed, wantChains: ptrTo("true")},
		{name: "no verdict yet: waits for Chains", buildDone: true, steps: 1,
			wantWait: "Waiting for Tekton Chains has not finished with TaskRun ci/release-42-build (pipeline task \"build\", uid build-uid) (no chains.tekton.dev/signed annotation yet)"},
		{name: "build not finished: waits for it", buildDone: false, steps: 1,
			wantWait: "TaskRun ci/release-42-build of pipeline task \"build\" has not finished"},
		{name: "build not listed yet: waits for it", noBuild: true, steps: 1,
			wantWait: "TaskRun ci/release-42-build of pipeline task \"build\" not found"},
		{name: "chains failed: violation naming the TaskRun", signed: "failed", buildDone: true, steps: 5, realEngine: true,
			wantReason: ReasonPolicyViolation, wantMsg: "1 violation(s)", wantChains: ptrTo("failed")},
		{name: "no verdict within the wait: could not decide", buildDone: true, steps: 40, realEngine: true,
			wantReason: ReasonVerificationError, wantMsg: "Tekton Chains has not finished with TaskRun ci/release-42-build", wantChains: ptrTo("")},
		{name: "build never finished within the wait: could not decide", buildDone: false, steps: 40,
			wantReason: ReasonVerificationError, wantMsg: "was not ready within 75% of spec.timeout: TaskRun ci/release-42-build"},
		{name: "no TaskRun lister: provenance not enforced, fails closed", noLister: true, signed: "true", buildDone: true, steps: 5,
			wantReason: ReasonVerificationError, wantMsg: "provenance is not enforced here"},
		{name: "no owning PipelineRun, binding required: fails closed", noOwner: true, signed: "true", buildDone: true, steps: 5,
			wantReason: ReasonVerificationError, wantMsg: "has no owning PipelineRun"},
		{name: "no owning PipelineRun, binding off: judged without a run", noOwner: true, runBinding: v1alpha1.ProvenanceOff, steps: 5,
			wantReason: ReasonPassed},
		{name: "no spec.provenance: no wait", noProv: true, buildDone: false, steps: 5,
			wantReason: ReasonPassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := releaseGateRun(t)
			if tc.noOwner {
				run.OwnerReferences = nil
				run.Labels = nil
			}
			d := test.Data{CustomRuns: []*v1beta1.CustomRun{run}, PipelineRuns: []*v1.PipelineRun{releasePipelineRun(t)}}
			if !tc.noBuild {
				d.TaskRuns = []*v1.TaskRun{buildTaskRun(t, tc.signed, tc.buildDone)}
			}
			rb := tc.runBinding
			if rb == "" {
				rb = v1alpha1.ProvenanceRequired
			}
			eng := &fakeEngine{reports: []*gate.Report{passReport}}
			h := newHarness(t, d, nil, releasePolicies(rb, !tc.noProv), eng, nil)
			if tc.realEngine {
				h.r.NewEngine = func(o gate.Options) Engine {
					real := gate.New(o)
					return engineFunc(func(spec *v1alpha1.SecurityGateSpec, in gate.Input) *gate.Report {
						eng.mu.Lock()
						eng.inputs = append(eng.inputs, in)
						eng.mu.Unlock()
						return real.Verify(h.assets.Ctx, spec, in)
					})
				}
			}
			if tc.noLister {
				h.r.TaskRuns = nil
			}
			got, err := h.settleKey(t, releaseRunNS+"/"+releaseRun, tc.steps)
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			if tc.wantWait != "" {
				if got.IsDone() || c == nil || !strings.Contains(c.Message, tc.wantWait) {
					t.Fatalf("condition %+v; want Verifying with %q", c, tc.wantWait)
				}
				if ok, after := controller.IsRequeueKey(err); !ok || after <= 0 || after > buildsPoll {
					t.Errorf("reconcile returned %v; want a requeue within %s", err, buildsPoll)
				}
				if len(eng.inputs) != 0 {
					t.Errorf("the engine ran while the gate waited: %+v", eng.inputs)
				}
				return
			}
			if !got.IsDone() || c.Reason != tc.wantReason || !strings.Contains(c.Message, tc.wantMsg) {
				var ef extraFields
				_ = got.Status.DecodeExtraFields(&ef)
				t.Fatalf("condition %+v; want %s with %q; report %+v", c, tc.wantReason, tc.wantMsg, ef.Report)
			}
			if tc.wantChains == nil {
				for _, in := range eng.inputs {
					if in.Builds != nil {
						t.Errorf("the engine received builds %+v, want none", in.Builds)
					}
				}
				return
			}
			if len(eng.inputs) != 1 {
				t.Fatalf("the engine ran %d times, want once", len(eng.inputs))
			}
			b := eng.inputs[0].Builds[builtApp]
			if b == nil || b.TaskRun == nil {
				t.Fatalf("the engine received no build for %s: %+v", builtApp, eng.inputs[0].Builds)
			}
			want := gate.BuildRun{Namespace: "ci", Name: buildRun, UID: "build-uid", PipelineTask: "build", Result: "IMAGE_URL+IMAGE_DIGEST", Chains: *tc.wantChains}
			if *b.TaskRun != want {
				t.Errorf("build %+v, want %+v", *b.TaskRun, want)
			}
			if tc.wantReason == ReasonPolicyViolation {
				var ef extraFields
				if err := got.Status.DecodeExtraFields(&ef); err != nil {
					t.Fatal(err)
				}
				found := false
				for _, v := range ef.Report.Violations {
					found = found || (v.Check == gate.CheckChains && strings.Contains(v.Message, "TaskRun ci/"+buildRun))
				}
				if !found {
					t.Errorf("no chains violation naming the TaskRun: %+v", ef.Report.Violations)
				}
			}
		})
	}
}

// TestReleaseGateWokenByChains: the gate waits; Chains annotates the
// TaskRun; the gate, woken by the TaskRun's update, passes on the next
// reconcile without any time passing.
func TestReleaseGateWokenByChains(t *testing.T) {
	tr := buildTaskRun(t, "", true)
	d := test.Data{CustomRuns: []*v1beta1.CustomRun{releaseGateRun(t)}, PipelineRuns: []*v1.PipelineRun{releasePipelineRun(t)}, TaskRuns: []*v1.TaskRun{tr}}
	eng := &fakeEngine{reports: []*gate.Report{passReport}}
	h := newHarness(t, d, nil, releasePolicies(v1alpha1.ProvenanceRequired, true), eng, nil)
	key := releaseRunNS + "/" + releaseRun
	got, _ := h.settleKey(t, key, 1)
	if got.IsDone() {
		t.Fatalf("done before Chains signed: %+v", got.Status.Conditions)
	}

	// Chains annotates the TaskRun: the informer's handler enqueues the gate.
	signed := tr.DeepCopy()
	signed.Annotations = map[string]string{"chains.tekton.dev/signed": "true"}
	signed.ResourceVersion = "2"
	var woken []string
	runs := v1beta1listers.NewCustomRunLister(h.assets.Informers.CustomRun.Informer().GetIndexer())
	enqueueGatesOfTaskRun(signed, runs, func(o interface{}) { woken = append(woken, o.(*v1beta1.CustomRun).Name) })
	if len(woken) != 1 || woken[0] != releaseRun {
		t.Fatalf("the TaskRun update woke %v, want [%s]", woken, releaseRun)
	}
	if err := h.assets.Informers.TaskRun.Informer().GetIndexer().Update(signed); err != nil {
		t.Fatal(err)
	}
	before := h.clock.Now()
	got, _ = h.settleKey(t, key, 3) // collecting the verification needs no clock step
	if c := got.Status.GetCondition(apis.ConditionSucceeded); !got.IsDone() || c.Reason != ReasonPassed {
		t.Fatalf("condition %+v, want Passed", c)
	}
	if h.clock.Now() != before {
		t.Errorf("the clock moved by %s: the gate waited for a poll, not the wake-up", h.clock.Now().Sub(before))
	}
}

// TestEnqueueGatesOfTaskRun: a TaskRun event wakes exactly the unfinished
// gate CustomRuns of the same PipelineRun (label and controlling UID).
func TestEnqueueGatesOfTaskRun(t *testing.T) {
	owner := func(uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: "pr", UID: types.UID(uid), Controller: ptrTo(true)}}
	}
	gateOf := func(name, pr, uid string, done bool) *v1beta1.CustomRun {
		r := &v1beta1.CustomRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ci", OwnerReferences: owner(uid), Labels: map[string]string{pipeline.PipelineRunLabelKey: pr}},
			Spec:       v1beta1.CustomRunSpec{CustomRef: &v1beta1.TaskRef{APIVersion: APIVersion, Kind: "ClusterSecurityGate", Name: "release"}},
		}
		if done {
			r.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1ConditionStatus("True")})
		}
		return r
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, r := range []*v1beta1.CustomRun{
		gateOf("release-gate", "pr", "pr-uid", false),
		gateOf("pre-gate", "pr", "pr-uid", false),
		gateOf("finished", "pr", "pr-uid", true),
		gateOf("same-name-other-run", "pr", "old-uid", false),
		gateOf("other-pipelinerun", "another", "pr-uid", false),
	} {
		if err := idx.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	lister := v1beta1listers.NewCustomRunLister(idx)
	tr := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "pr-build", Namespace: "ci", OwnerReferences: owner("pr-uid"),
		Labels: map[string]string{pipeline.PipelineRunLabelKey: "pr"}}}
	var got []string
	enqueueGatesOfTaskRun(tr, lister, func(o interface{}) { got = append(got, o.(*v1beta1.CustomRun).Name) })
	sort.Strings(got)
	if want := []string{"pre-gate", "release-gate"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("enqueued %v, want %v", got, want)
	}
	for name, obj := range map[string]interface{}{
		"a TaskRun of no PipelineRun": &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "lone", Namespace: "ci", Labels: map[string]string{pipeline.PipelineRunLabelKey: "pr"}}},
		"not a TaskRun":               &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "pr", Namespace: "ci"}},
	} {
		enqueueGatesOfTaskRun(obj, lister, func(interface{}) { t.Errorf("%s enqueued a gate", name) })
	}
}

// TestTaskRunsListedByPipelineRun: the lister is asked for the TaskRuns of
// the gate's PipelineRun only.
func TestTaskRunsListedByPipelineRun(t *testing.T) {
	d := test.Data{CustomRuns: []*v1beta1.CustomRun{releaseGateRun(t)}, PipelineRuns: []*v1.PipelineRun{releasePipelineRun(t)},
		TaskRuns: []*v1.TaskRun{buildTaskRun(t, "true", true)}}
	h := newHarness(t, d, nil, releasePolicies(v1alpha1.ProvenanceRequired, true), &fakeEngine{reports: []*gate.Report{passReport}}, nil)
	var asked []string
	list := h.r.TaskRuns
	h.r.TaskRuns = func(ns string, sel labels.Selector) ([]*v1.TaskRun, error) {
		asked = append(asked, ns+" "+sel.String())
		return list(ns, sel)
	}
	if _, err := h.settleKey(t, releaseRunNS+"/"+releaseRun, 5); err != nil && !controller.IsPermanentError(err) {
		if ok, _ := controller.IsRequeueKey(err); !ok {
			t.Fatal(err)
		}
	}
	if len(asked) == 0 || asked[0] != "ci tekton.dev/pipelineRun=release-42" {
		t.Errorf("TaskRuns listed with %q, want the PipelineRun's label selector in its namespace", asked)
	}
}

type engineFunc func(*v1alpha1.SecurityGateSpec, gate.Input) *gate.Report

func (f engineFunc) Verify(_ context.Context, spec *v1alpha1.SecurityGateSpec, in gate.Input) *gate.Report {
	return f(spec, in)
}

func ptrTo[T any](v T) *T { return &v }

func corev1ConditionStatus(s string) corev1.ConditionStatus { return corev1.ConditionStatus(s) }
