package customrun

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/controller"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
	"github.com/security-gate/security-gate/pkg/transient"
)

func defaultPolicies() *fakePolicies {
	return &fakePolicies{cluster: map[string]*v1alpha1.ClusterSecurityGate{strictPolicy: clusterGate(strictPolicy, v1alpha1.ModeEnforce)}}
}

func TestReconcile(t *testing.T) {
	inlineSpec := func(spec string) func(*v1beta1.CustomRun) {
		return func(r *v1beta1.CustomRun) {
			r.Spec.CustomRef = nil
			r.Spec.CustomSpec = &v1beta1.EmbeddedCustomRunSpec{
				TypeMeta: runtime.TypeMeta{APIVersion: APIVersion, Kind: v1alpha1.KindSecurityGate},
				Spec:     runtime.RawExtension{Raw: []byte(spec)},
			}
		}
	}
	inline := inlineSpec(`{"mode":"Warn"}`)
	allowInline := map[string]string{config.KeyAllowInlinePolicies: "true"}
	unavailable := apierrors.NewServiceUnavailable("etcd is restarting")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "builder", errors.New("RBAC"))
	namespaced := func(r *v1beta1.CustomRun) {
		r.Spec.CustomRef.Kind = v1alpha1.KindSecurityGate
		r.Spec.CustomRef.Name = "team"
	}
	for _, tc := range []struct {
		name        string
		run         func(*v1beta1.CustomRun)
		noPR        bool
		pending     bool
		policies    *fakePolicies
		cfg         map[string]string
		reports     []*gate.Report
		steps       int
		wantStatus  corev1.ConditionStatus
		wantReason  string
		wantMsg     string
		wantResults map[string]string
		keychainErr error
		wantEvent   string
		wantCalls   int
		wantRetries int
		wantRequeue bool
		// wantFindings are messages of the report's error findings.
		wantFindings []string
	}{{
		name:       "pass",
		reports:    []*gate.Report{passReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassed, wantMsg: "pipelinerun/ci/release-42 passed ClusterSecurityGate/strict",
		wantResults: map[string]string{ResultVerdict: "pass", ResultViolations: "0",
			ResultVerifiedImages: `["registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"]`},
		wantEvent: "Normal Passed", wantCalls: 1,
	}, {
		name:       "violation",
		reports:    []*gate.Report{failReport},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonPolicyViolation, wantMsg: "2 violation(s)",
		wantResults: map[string]string{ResultVerdict: "fail", ResultViolations: "2", ResultVerifiedImages: "[]"},
		wantEvent:   "Warning PolicyViolation pipelinerun/ci/release-42 violates ClusterSecurityGate/strict: 2 violation(s), 0 warning(s); image-signature registry.example.com/app@sha256:1111: no signature",
		wantCalls:   1,
	}, {
		name:       "warn mode passes with warnings",
		policies:   &fakePolicies{cluster: map[string]*v1alpha1.ClusterSecurityGate{strictPolicy: clusterGate(strictPolicy, v1alpha1.ModeWarn)}},
		reports:    []*gate.Report{warnReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassedWithWarnings, wantMsg: "1 warning(s)",
		wantResults: map[string]string{ResultVerdict: "warn", ResultViolations: "0"},
		wantEvent:   "Warning PassedWithWarnings", wantCalls: 1,
	}, {
		name:       "missing policy",
		policies:   &fakePolicies{},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: `ClusterSecurityGate "strict" not found`,
		wantResults: map[string]string{ResultVerdict: "error"},
		wantEvent:   "Warning VerificationError",
	}, {
		name:       "invalid policy",
		policies:   &fakePolicies{cluster: map[string]*v1alpha1.ClusterSecurityGate{strictPolicy: clusterGate(strictPolicy, "Sometimes")}},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError,
		wantMsg:      "invalid policy: ClusterSecurityGate/strict: invalid value: Sometimes: spec.mode; allowed: Enforce, Warn",
		wantFindings: []string{"invalid policy: ClusterSecurityGate/strict: invalid value: Sometimes: spec.mode; allowed: Enforce, Warn"},
		wantEvent:    "Warning VerificationError",
	}, {
		name:       "API server unavailable reading the policy: retry, no verdict",
		policies:   &fakePolicies{err: unavailable},
		steps:      3,
		wantStatus: corev1.ConditionUnknown, wantReason: ReasonVerifying,
		wantMsg:     `Could not decide yet, retrying: customrun/ci/release-42-gate: reading ClusterSecurityGate "strict": etcd is restarting`,
		wantRequeue: true,
	}, {
		name:       "namespaced policy not allowed by default",
		run:        namespaced,
		policies:   &fakePolicies{namespaced: map[string]*v1alpha1.SecurityGate{"ci/team": {ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "ci"}}}},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonPolicyNotAllowed, wantMsg: "SecurityGate is not allowed by config-security-gate (allow-namespaced-policies",
		wantEvent: "Warning PolicyNotAllowed",
	}, {
		name:       "namespaced policy allowed by config",
		run:        namespaced,
		cfg:        map[string]string{config.KeyAllowNamespacedPolicies: "true"},
		policies:   &fakePolicies{namespaced: map[string]*v1alpha1.SecurityGate{"ci/team": {ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "ci"}}}},
		reports:    []*gate.Report{passReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassed, wantMsg: "SecurityGate/ci/team",
		wantCalls: 1, wantEvent: "Normal Passed",
	}, {
		name:       "inline policy not allowed by default",
		run:        inline,
		wantStatus: corev1.ConditionFalse, wantReason: ReasonPolicyNotAllowed, wantMsg: "inline policy (spec.customSpec) is not allowed",
		wantEvent: "Warning PolicyNotAllowed",
	}, {
		name:       "inline policy allowed by config",
		run:        inline,
		cfg:        map[string]string{config.KeyAllowInlinePolicies: "true"},
		reports:    []*gate.Report{warnReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassedWithWarnings, wantMsg: "inline customSpec",
		wantCalls: 1, wantEvent: "Warning PassedWithWarnings",
	}, {
		// The same strict decoder as a policy file: a duplicate field, a
		// field whose case differs, an unknown field are each an error with
		// its path, never a policy read some other way.
		name:       "inline policy with a duplicate field",
		run:        inlineSpec(`{"mode":"Warn","mode":"Enforce"}`),
		cfg:        allowInline,
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: `key "mode" already set`,
		wantEvent: "Warning VerificationError",
	}, {
		name:       "inline policy with a miscased field",
		run:        inlineSpec(`{"MODE":"Warn"}`),
		cfg:        allowInline,
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError,
		wantMsg:      "invalid policy: inline customSpec: unknown field: spec.MODE",
		wantFindings: []string{"invalid policy: inline customSpec: unknown field: spec.MODE"},
		wantEvent:    "Warning VerificationError",
	}, {
		name:       "inline policy with two problems: a finding each",
		run:        inlineSpec(`{"mode":"Block","images":{"requireDigests":true}}`),
		cfg:        allowInline,
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: "unknown field: spec.images.requireDigests",
		wantFindings: []string{
			"invalid policy: inline customSpec: invalid value: Block: spec.mode; allowed: Enforce, Warn",
			"invalid policy: inline customSpec: unknown field: spec.images.requireDigests",
		},
		wantEvent: "Warning VerificationError",
	}, {
		name:       "pipelineSpec not set yet: requeue, not fail",
		pending:    true,
		reports:    []*gate.Report{passReport},
		steps:      1,
		wantStatus: corev1.ConditionUnknown, wantReason: ReasonVerifying, wantMsg: "Waiting for pipelinerun/ci/release-42 status.pipelineSpec",
		wantRequeue: true,
	}, {
		name:       "transient registry error then success",
		reports:    []*gate.Report{transientReport, passReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassed,
		wantCalls: 2, wantEvent: "Normal Passed",
	}, {
		name:       "transient errors never pass and never fail early",
		reports:    []*gate.Report{transientReport},
		steps:      4,
		wantStatus: corev1.ConditionUnknown, wantReason: ReasonVerifying,
		wantMsg:   "Could not decide yet, retrying: try 2 undecided: pipelinerun/ci/release-42: ClusterSecurityGate/strict could not be decided: 1 error(s): registry.example.com/app: 503 Service Unavailable",
		wantCalls: 2, wantRequeue: true,
	}, {
		name:        "registry credentials unreadable for now: retry",
		keychainErr: transient.API(unavailable),
		steps:       4,
		wantStatus:  corev1.ConditionUnknown, wantReason: ReasonVerifying,
		wantMsg:     "Could not decide yet, retrying: try 2 undecided: pipelinerun/ci/release-42: ClusterSecurityGate/strict could not be decided: 1 error(s): customrun/ci/release-42-gate: registry credentials of serviceaccount ci/builder: etcd is restarting",
		wantRequeue: true,
	}, {
		name:        "registry credentials forbidden: could not decide, no retry",
		keychainErr: transient.API(forbidden),
		wantStatus:  corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: "registry credentials of serviceaccount ci/builder",
		wantResults: map[string]string{ResultVerdict: "error"},
		wantEvent:   "Warning VerificationError",
	}, {
		// The engine says fail: the violation is decided, the undecided
		// registry error beside it is listed but never makes it a retry.
		name:       "violation with a transient error: fail, no retry",
		reports:    []*gate.Report{failWithTransientReport, passReport},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonPolicyViolation, wantMsg: "1 more finding(s) could not be decided",
		wantResults: map[string]string{ResultVerdict: "fail", ResultViolations: "2"},
		wantCalls:   1, wantEvent: "Warning PolicyViolation",
	}, {
		name:       "permanent engine error",
		reports:    []*gate.Report{permanentErrReport},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: "secret cosign-pub not found",
		wantResults: map[string]string{ResultVerdict: "error"},
		wantCalls:   1, wantEvent: "Warning VerificationError",
	}, {
		name:       "retry after a violation, then pass",
		run:        func(r *v1beta1.CustomRun) { r.Spec.Retries = 1 },
		reports:    []*gate.Report{failReport, passReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassed,
		wantCalls: 2, wantRetries: 1, wantEvent: "Normal Passed",
	}, {
		name:       "retries used up",
		run:        func(r *v1beta1.CustomRun) { r.Spec.Retries = 2 },
		reports:    []*gate.Report{failReport},
		wantStatus: corev1.ConditionFalse, wantReason: ReasonPolicyViolation,
		wantCalls: 3, wantRetries: 2, wantEvent: "Warning PolicyViolation",
	}, {
		name:       "cancelled before verifying",
		run:        func(r *v1beta1.CustomRun) { r.Spec.Status = v1beta1.CustomRunSpecStatusCancelled },
		wantStatus: corev1.ConditionFalse, wantReason: ReasonCancelled,
		wantEvent: "Warning CustomRunCancelled",
	}, {
		name:       "owner label without matching ownerReference",
		run:        func(r *v1beta1.CustomRun) { r.OwnerReferences[0].UID = "someone-else" },
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: "not by that PipelineRun",
		wantEvent: "Warning VerificationError",
	}, {
		name: "no owning PipelineRun: images only",
		run: func(r *v1beta1.CustomRun) {
			r.Labels = nil
			r.OwnerReferences = nil
		},
		noPR:       true,
		reports:    []*gate.Report{passReport},
		wantStatus: corev1.ConditionTrue, wantReason: ReasonPassed, wantMsg: "no owning PipelineRun: images only",
		wantCalls: 1, wantEvent: "Normal Passed",
	}, {
		name:       "unknown param",
		run:        func(r *v1beta1.CustomRun) { r.Spec.Params[0].Name = "image" },
		wantStatus: corev1.ConditionFalse, wantReason: ReasonVerificationError, wantMsg: `unknown param "image"`,
		wantEvent: "Warning VerificationError",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			run := gateRun(t)
			if tc.run != nil {
				tc.run(run)
			}
			d := test.Data{CustomRuns: []*v1beta1.CustomRun{run}}
			if !tc.noPR {
				d.PipelineRuns = []*v1.PipelineRun{pipelineRun(t, !tc.pending)}
			}
			policies := tc.policies
			if policies == nil {
				policies = defaultPolicies()
			}
			eng := &fakeEngine{reports: tc.reports}
			h := newHarness(t, d, tc.cfg, policies, eng, tc.keychainErr)
			steps := tc.steps
			if steps == 0 {
				steps = 10
			}
			got, err := h.settle(t, steps)
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			if c == nil || c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Fatalf("condition = %+v, want %s/%s", c, tc.wantStatus, tc.wantReason)
			}
			if !strings.Contains(c.Message, tc.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", c.Message, tc.wantMsg)
			}
			if isRequeue, _ := controller.IsRequeueKey(err); isRequeue != tc.wantRequeue {
				t.Errorf("last reconcile returned %v, want requeue=%v", err, tc.wantRequeue)
			}
			res := resultsMap(got)
			for k, v := range tc.wantResults {
				if res[k] != v {
					t.Errorf("result %s = %q, want %q", k, res[k], v)
				}
			}
			if got.IsDone() && tc.wantReason != ReasonCancelled && len(got.Status.Results) != 4 {
				t.Errorf("results = %v, want verdict, violations, report and verified-images", got.Status.Results)
			}
			if got.IsDone() && tc.wantReason != ReasonCancelled {
				var rep compactReport
				if err := json.Unmarshal([]byte(res[ResultReport]), &rep); err != nil || rep.Verdict == "" {
					t.Errorf("report result %q is not a compact report: %v", res[ResultReport], err)
				}
			}
			if eng.calls != tc.wantCalls {
				t.Errorf("engine ran %d times, want %d", eng.calls, tc.wantCalls)
			}
			if n := len(got.Status.RetriesStatus); n != tc.wantRetries {
				t.Errorf("retriesStatus has %d entries, want %d", n, tc.wantRetries)
			}
			if tc.wantFindings != nil {
				var ef extraFields
				if err := got.Status.DecodeExtraFields(&ef); err != nil || ef.Report == nil {
					t.Fatalf("no report in extraFields: %v", err)
				}
				var msgs []string
				for _, f := range ef.Report.Errors {
					msgs = append(msgs, f.Message)
				}
				for _, want := range tc.wantFindings {
					if !slices.Contains(msgs, want) {
						t.Errorf("report errors %q, want one saying %q", msgs, want)
					}
				}
			}
			evs := h.events()
			if tc.wantEvent == "" && len(evs) > 0 {
				t.Errorf("events = %q, want none", evs)
			}
			if tc.wantEvent != "" && (len(evs) != 1 || !strings.HasPrefix(evs[0], tc.wantEvent)) {
				t.Errorf("events = %q, want exactly one starting with %q", evs, tc.wantEvent)
			}
		})
	}
}
