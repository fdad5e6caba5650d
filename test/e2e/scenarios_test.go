//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/fixture"
)

// A gated pipeline from signed bundles: compliant, an unsigned step image,
// and Warn mode.
// Each case gets its own key, images, bundles, policy and namespace.
func TestGatedPipeline(t *testing.T) {
	requireGate(t)
	for _, tc := range []struct {
		name string
		// unsignedStep adds a step whose image is not signed.
		unsignedStep bool
		mode         v1alpha1.Mode

		wantStatus  corev1.ConditionStatus
		wantReason  string
		wantVerdict string
		wantCheck   string // a finding the report must name
		wantTaskRun bool
	}{
		{
			name:       "compliant",
			wantStatus: corev1.ConditionTrue, wantReason: "Passed", wantVerdict: "pass", wantTaskRun: true,
		},
		{
			name: "unsigned-step-image", unsignedStep: true,
			wantStatus: corev1.ConditionFalse, wantReason: "PolicyViolation", wantVerdict: "fail",
			wantCheck: "image-signature",
		},
		{
			name: "warn-mode", unsignedStep: true, mode: v1alpha1.ModeWarn,
			wantStatus: corev1.ConditionTrue, wantReason: "PassedWithWarnings", wantVerdict: "warn",
			wantCheck: "image-signature", wantTaskRun: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			key := fixture.NewKey(t)
			images := []string{ns + "/compiler", ns + "/tester"}
			var digests []string
			var steps = make([]stepImage, 0, 3)
			for _, repo := range images {
				d := pushImage(t, repo, image{signer: key})
				steps = append(steps, stepImage{d: d})
				digests = append(digests, d.String())
			}
			if tc.unsignedStep {
				d := pushImage(t, ns+"/unsigned", image{})
				steps = append(steps, stepImage{d: d})
			}
			taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf(steps), key)
			policyName := "e2e-" + ns
			spec := strictPolicy(key)
			if tc.mode != "" {
				spec.Mode = tc.mode
			}
			createPolicy(t, "", policyName, spec)
			pipelineBundle := pushSignedBundle(t, ns+"/pipeline-release",
				gatedPipeline(v1alpha1.KindClusterSecurityGate, policyName, taskBundle), key)
			runPipelineBundle(t, ns, "release", pipelineBundle)

			cr := waitGateDone(t, ns, "release")
			assertGate(t, cr, tc.wantStatus, tc.wantReason, tc.wantVerdict)
			assertEvent(t, cr, tc.wantReason)
			if tc.wantCheck != "" {
				assertReportHas(t, cr, tc.wantCheck)
			}
			var verified []string
			if v, ok := result(cr, "verified-images"); ok {
				if err := json.Unmarshal([]byte(v), &verified); err != nil {
					t.Fatalf("gate result verified-images %q is not a JSON array: %v", v, err)
				}
			}
			for _, d := range digests {
				if tc.wantStatus == corev1.ConditionTrue && !slices.Contains(verified, d) {
					t.Errorf("gate result verified-images = %v, want it to list signed image %s", verified, d)
				}
			}

			if !tc.wantTaskRun {
				pr := waitPipelineRunDone(t, ns, "release")
				if c := pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsFalse() {
					t.Fatalf("PipelineRun %s/release Succeeded = %v, want False after the gate failed", ns, c)
				}
				assertNoTaskRuns(t, ns, "after the gate failed")
				return
			}
			tr := waitTaskRun(t, ns, "build")
			run := stepImages(t, ns, tr.Name)
			if len(run) != len(steps) {
				t.Fatalf("TaskRun %s runs step images %v, want %d steps", tr.Name, run, len(steps))
			}
			if tc.wantReason == "Passed" {
				// Every image the downstream TaskRun runs was verified, by digest.
				for _, im := range run {
					if !slices.Contains(verified, im) {
						t.Errorf("TaskRun %s step image %s is not in the gate's verified-images %v", tr.Name, im, verified)
					}
				}
			}
		})
	}
}

// A namespaced SecurityGate while config-security-gate
// allows only ClusterSecurityGates (the default).
func TestNamespacedPolicyNotAllowed(t *testing.T) {
	requireGate(t)
	ns := env.Namespace(t)
	key := fixture.NewKey(t)
	d := pushImage(t, ns+"/compiler", image{signer: key})
	taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf([]stepImage{{d: d}}), key)
	createPolicy(t, ns, "team-policy", strictPolicy(key))
	pipelineBundle := pushSignedBundle(t, ns+"/pipeline-release",
		gatedPipeline(v1alpha1.KindSecurityGate, "team-policy", taskBundle), key)
	runPipelineBundle(t, ns, "release", pipelineBundle)

	cr := waitGateDone(t, ns, "release")
	assertGate(t, cr, corev1.ConditionFalse, "PolicyNotAllowed", "")
	c := cr.Status.GetCondition(apis.ConditionSucceeded)
	if !strings.Contains(c.Message, "SecurityGate") {
		t.Errorf("gate CustomRun %s/%s message %q does not name the policy kind SecurityGate", ns, cr.Name, c.Message)
	}
	assertEvent(t, cr, "PolicyNotAllowed")
	pr := waitPipelineRunDone(t, ns, "release")
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsFalse() {
		t.Fatalf("PipelineRun %s/release Succeeded = %v, want False", ns, c)
	}
	assertNoTaskRuns(t, ns, "after the gate refused the policy kind")
}
