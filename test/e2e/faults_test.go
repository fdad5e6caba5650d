//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// faultyRun publishes a compliant pipeline whose step image lives in its own
// repository, applies fault to that repository only (Tekton's bundle
// resolution is unaffected; the gate's image checks are not), starts the
// PipelineRun and waits until the gate has hit the fault. gateTimeout, when
// set, is the gate task's timeout. It returns the namespace and the fault's
// path key.
func faultyRun(t *testing.T, mode framework.RegistryMode, gateTimeout string) (string, string) {
	t.Helper()
	ns := env.Namespace(t)
	key := fixture.NewKey(t)
	d := pushImage(t, ns+"/compiler", image{signer: key})
	taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf([]stepImage{{d: d}}), key)
	policyName := "e2e-" + ns
	createPolicy(t, "", policyName, strictPolicy(key))
	pipeline := gatedPipeline(v1alpha1.KindClusterSecurityGate, policyName, taskBundle)
	if gateTimeout != "" {
		pipeline = strings.Replace(pipeline, "  - name: security-gate\n", "  - name: security-gate\n    timeout: "+gateTimeout+"\n", 1)
	}
	pipelineBundle := pushSignedBundle(t, ns+"/pipeline-release", pipeline, key)

	sub := "/v2/" + ns + "/compiler/"
	env.Registry.SetFault(sub, mode)
	t.Cleanup(func() { env.Registry.SetFault(sub, framework.RegistryUp) })
	runPipelineBundle(t, ns, "release", pipelineBundle)
	framework.Eventually(t, 2*time.Minute, "the gate to reach the faulty repository "+sub, func(context.Context) (bool, error) {
		return env.Registry.FaultHits(sub) > 0, nil
	})
	return ns, sub
}

// Cancel, timeout, and a registry that comes back.
func TestRegistryFaults(t *testing.T) {
	requireGate(t)

	t.Run("cancel-while-verifying", func(t *testing.T) {
		ns, _ := faultyRun(t, framework.RegistryStalled, "")
		assertUndecided(t, ns, "release")
		if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Patch(context.Background(), "release", types.MergePatchType,
			[]byte(`{"spec":{"status":"Cancelled"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		cr := waitGateDone(t, ns, "release")
		assertGate(t, cr, corev1.ConditionFalse, "CustomRunCancelled", "")
		pr := waitPipelineRunDone(t, ns, "release")
		if c := pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsFalse() || c.Reason != "Cancelled" {
			t.Fatalf("PipelineRun %s/release Succeeded = %v, want False/Cancelled", ns, c)
		}
		assertNoTaskRuns(t, ns, "after the PipelineRun was cancelled")
	})

	t.Run("timeout-while-stalled", func(t *testing.T) {
		ns, _ := faultyRun(t, framework.RegistryStalled, "5s")
		cr := waitGateDone(t, ns, "release")
		assertGate(t, cr, corev1.ConditionFalse, "CustomRunTimedOut", "")
		pr := waitPipelineRunDone(t, ns, "release")
		if c := pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsFalse() {
			t.Fatalf("PipelineRun %s/release Succeeded = %v, want False after the gate timed out", ns, c)
		}
		assertNoTaskRuns(t, ns, "after the gate timed out")
	})

	t.Run("registry-down-then-back", func(t *testing.T) {
		ns, sub := faultyRun(t, framework.RegistryDown, "3m")
		// A 503 is transient: the gate keeps the run Unknown/Verifying and
		// says it will retry; only then does the registry come back.
		cr := waitCustomRun(t, ns, "release")
		framework.Eventually(t, 2*time.Minute, "gate "+ns+"/"+cr.Name+" to report a transient error and retry", func(ctx context.Context) (bool, error) {
			got, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, cr.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			if got.IsDone() {
				return false, fmt.Errorf("gate ended (%s: %s) while the registry was down, want it undecided", c.Reason, c.Message)
			}
			return c != nil && c.Status == corev1.ConditionUnknown && c.Reason == "Verifying" &&
				strings.Contains(strings.ToLower(c.Message), "retry"), nil
		})
		assertNoTaskRuns(t, ns, "while the gate is undecided")
		env.Registry.SetFault(sub, framework.RegistryUp)
		cr = waitGateDone(t, ns, "release")
		assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
		waitTaskRun(t, ns, "build")
	})
}

// assertUndecided checks that the gate's CustomRun has not finished.
func assertUndecided(t *testing.T, ns, pr string) {
	t.Helper()
	cr := waitCustomRun(t, ns, pr)
	if cr.IsDone() {
		c := cr.Status.GetCondition(apis.ConditionSucceeded)
		t.Fatalf("gate CustomRun %s/%s finished (%s: %s) while its registry was faulty, want it undecided", ns, cr.Name, c.Reason, c.Message)
	}
	assertNoTaskRuns(t, ns, "while the gate is undecided")
}

// The controller is killed in the middle of a
// verification and a new one takes over: the CustomRun ends exactly once,
// with the right verdict.
func TestControllerRestart(t *testing.T) {
	requireGate(t)
	ns, sub := faultyRun(t, framework.RegistryStalled, "")
	assertUndecided(t, ns, "release")

	gate.Kill()
	env.Registry.SetFault(sub, framework.RegistryUp)
	next, err := env.StartGateController(context.Background(), gateBin, "security-gate-controller-restarted", true)
	if err != nil {
		gateErr = err
		t.Fatal(err)
	}
	gate = next

	cr := waitGateDone(t, ns, "release")
	assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
	waitTaskRun(t, ns, "build")
	assertOneVerdictEvent(t, ns, cr.Name)
	trs, err := env.Tekton.TektonV1().TaskRuns(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(trs.Items) != 1 {
		t.Fatalf("%d TaskRuns in %s, want exactly 1 (build)", len(trs.Items), ns)
	}
}
