//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/fixture"
)

// One policy rule broken (or excepted) at a time. Each
// case asserts the gate's reason, the check id its report names, the Event,
// and (for failures) that Tekton created no TaskRun.
func TestPolicyRules(t *testing.T) {
	requireGate(t)
	now := time.Now().UTC()
	for _, tc := range []struct {
		name         string
		stepSC       string // the step's securityContext YAML; restricted when empty
		critical     []string
		scanned      time.Time
		exceptions   []v1alpha1.VulnerabilityException
		otherKey     bool // the pipeline bundle is signed with another key
		notAfterGate bool // build does not runAfter the gate
		inDefault    bool // the PipelineRun lives in `default`

		wantReason string // Passed or PolicyViolation
		wantCheck  string
	}{
		{name: "privileged-step", stepSC: "\n      securityContext:\n        privileged: true",
			wantReason: "PolicyViolation", wantCheck: "security-context"},
		{name: "root-step", stepSC: "\n      securityContext:\n        runAsUser: 0\n        allowPrivilegeEscalation: false\n        capabilities: {drop: [ALL]}\n        seccompProfile: {type: RuntimeDefault}",
			wantReason: "PolicyViolation", wantCheck: "security-context"},
		{name: "critical-cve", critical: []string{"CVE-2026-0001"},
			wantReason: "PolicyViolation", wantCheck: "vulnerabilities"},
		{name: "excepted-critical-cve", critical: []string{"CVE-2026-0001"},
			exceptions: []v1alpha1.VulnerabilityException{{ID: "CVE-2026-0001", Expires: now.AddDate(0, 1, 0).Format("2006-01-02"), Reason: "not reachable (e2e)"}},
			wantReason: "Passed"},
		{name: "expired-exception", critical: []string{"CVE-2026-0001"},
			exceptions: []v1alpha1.VulnerabilityException{{ID: "CVE-2026-0001", Expires: now.AddDate(0, 0, -2).Format("2006-01-02"), Reason: "was accepted (e2e)"}},
			wantReason: "PolicyViolation", wantCheck: "vulnerabilities"},
		{name: "stale-scan", scanned: now.Add(-30 * 24 * time.Hour),
			wantReason: "PolicyViolation", wantCheck: "attestation"},
		{name: "pipeline-signed-by-another-key", otherKey: true,
			wantReason: "PolicyViolation", wantCheck: "bundle-signature"},
		{name: "task-not-after-gate", notAfterGate: true,
			wantReason: "PolicyViolation", wantCheck: "gate-order"},
		{name: "pipelinerun-in-default", inDefault: true,
			wantReason: "PolicyViolation", wantCheck: "namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t) // repositories are named after it, even when the run is in default
			key := fixture.NewKey(t)
			d := pushImage(t, ns+"/compiler", image{signer: key, scanned: tc.scanned, critical: tc.critical})
			taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf([]stepImage{{d: d, securityContext: tc.stepSC}}), key)
			policyName := "e2e-" + ns
			spec := strictPolicy(key)
			spec.Attestations[0].Vulnerabilities.Exceptions = tc.exceptions
			createPolicy(t, "", policyName, spec)
			pipeline := gatedPipeline(v1alpha1.KindClusterSecurityGate, policyName, taskBundle)
			if tc.notAfterGate {
				pipeline = strings.Replace(pipeline, "    runAfter: [security-gate]\n", "", 1)
			}
			pipelineKey := key
			if tc.otherKey {
				pipelineKey = fixture.NewKey(t)
			}
			pipelineBundle := pushSignedBundle(t, ns+"/pipeline-release", pipeline, pipelineKey)

			runNS, prName := ns, "release"
			if tc.inDefault {
				runNS, prName = "default", ns // unique in the shared namespace
				ensureDefaultServiceAccount(t)
				t.Cleanup(func() {
					_ = env.Tekton.TektonV1().PipelineRuns("default").Delete(context.Background(), prName, metav1.DeleteOptions{})
				})
			}
			runPipelineBundle(t, runNS, prName, pipelineBundle)

			cr := waitGateDone(t, runNS, prName)
			if tc.wantReason == "Passed" {
				assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
			} else {
				assertGate(t, cr, corev1.ConditionFalse, tc.wantReason, "fail")
				assertReportHas(t, cr, tc.wantCheck)
			}
			assertEvent(t, cr, tc.wantReason)
			if tc.notAfterGate {
				// Tekton may start build before the gate decides: that is
				// exactly what the gate-order check reports.
				return
			}
			if tc.wantReason == "Passed" {
				waitTaskRun(t, runNS, "build")
				return
			}
			pr := waitPipelineRunDone(t, runNS, prName)
			if c := pr.Status.GetCondition("Succeeded"); !c.IsFalse() {
				t.Fatalf("PipelineRun %s/%s Succeeded = %v, want False", runNS, prName, c)
			}
			l, err := env.Tekton.TektonV1().TaskRuns(runNS).List(context.Background(), metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + prName})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != 0 {
				t.Fatalf("%d TaskRun(s) of PipelineRun %s/%s after the gate failed, want none", len(l.Items), runNS, prName)
			}
		})
	}
}

// ensureDefaultServiceAccount creates default/default (no controller-manager
// runs here to do it).
func ensureDefaultServiceAccount(t *testing.T) {
	t.Helper()
	_, err := env.Kube.CoreV1().ServiceAccounts("default").Create(context.Background(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(fmt.Errorf("create ServiceAccount default/default: %w", err))
	}
}
