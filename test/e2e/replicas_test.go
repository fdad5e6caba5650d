//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// Two controller replicas share the gates with knative's bucketed leader
// election (two buckets); every gate ends exactly once. It reports, without
// asserting on them, the throughput (gates decided per second, warm
// verification cache) and each replica's peak memory. E2E_GATES sets the
// number of PipelineRuns (default 200). It may run anywhere in the suite:
// replica a stays on as the suite's controller (as after
// TestControllerRestart), and its runs are cancelled when it ends, so their
// build TaskRuns, which never finish here (no kubelet), do not load Tekton
// for the tests after it.
func TestTwoReplicas(t *testing.T) {
	requireGate(t)
	n := 200
	if v, err := strconv.Atoi(os.Getenv("E2E_GATES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	ns := env.Namespace(t)
	key := fixture.NewKey(t)
	d := pushImage(t, ns+"/compiler", image{signer: key})
	policyName := "e2e-" + ns
	spec := strictPolicy(key)
	spec.Bundles = nil // embedded pipelines: the throughput of the gate, not of resolution
	createPolicy(t, "", policyName, spec)

	// Both replicas start together so that they race for the buckets; the
	// suite's replica is stopped first (SIGTERM releases its leases).
	gate.Stop(10 * time.Second)
	var a, b *framework.GateController
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		a, errA = env.StartGateController(ctx, gateBin, "security-gate-replica-a", false)
	}()
	go func() {
		defer wg.Done()
		b, errB = env.StartGateController(ctx, gateBin, "security-gate-replica-b", false)
	}()
	wg.Wait()
	if errA != nil || errB != nil {
		gateErr = fmt.Errorf("replicas: %v, %v", errA, errB)
		t.Fatal(gateErr)
	}
	gate = a
	t.Cleanup(func() { b.Stop(10 * time.Second) })
	framework.Eventually(t, 2*time.Minute, "both buckets held", func(ctx context.Context) (bool, error) {
		ls, err := env.Kube.CoordinationV1().Leases(framework.GateNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		held := 0
		for _, l := range ls.Items {
			if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" && l.Spec.RenewTime != nil &&
				time.Since(l.Spec.RenewTime.Time) < 15*time.Second {
				held++
			}
		}
		return held >= 2, nil
	})
	t.Logf("lease holders: %d distinct replica(s)", len(env.GateLeaseHolders(ctx)))

	t0 := time.Now()
	sem := make(chan struct{}, 8)
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			pr := mustPipelineRun(t, fmt.Sprintf(`
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: run-%03d
  namespace: %s
spec:
  pipelineSpec:
    tasks:
    - name: security-gate
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: %s}
    - name: build
      runAfter: [security-gate]
      taskSpec:
        steps:
        - name: step0
          image: %s
          script: echo%s
`, i, ns, policyName, d, indent(restricted, 4)))
			_, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{})
			errs <- err
		}()
	}
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("run-%03d", i)
	}
	cancelRunsAtEnd(t, ns, names...)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	created := time.Since(t0)

	var first, lastCreated, last time.Time
	framework.Eventually(t, 15*time.Minute, fmt.Sprintf("%d gates to finish", n), func(ctx context.Context) (bool, error) {
		l, err := env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		done := 0
		first, lastCreated, last = time.Time{}, time.Time{}, time.Time{}
		for _, cr := range l.Items {
			if c := cr.CreationTimestamp.Time; first.IsZero() || c.Before(first) {
				first = c
			}
			if c := cr.CreationTimestamp.Time; c.After(lastCreated) {
				lastCreated = c
			}
			if !cr.IsDone() {
				continue
			}
			done++
			if c := cr.Status.GetCondition(apis.ConditionSucceeded); c.Status != corev1.ConditionTrue || c.Reason != "Passed" {
				return false, fmt.Errorf("CustomRun %s ended %s/%s: %s, want True/Passed", cr.Name, c.Status, c.Reason, c.Message)
			}
			if ct := cr.Status.CompletionTime; ct != nil && ct.After(last) {
				last = ct.Time
			}
		}
		return done == n && len(l.Items) == n, nil
	})
	all := time.Since(t0)

	// Exactly once: one verdict Event per CustomRun, across both replicas.
	// Events are recorded asynchronously (and client-side rate limited):
	// wait until every CustomRun has one, then no CustomRun may have two.
	l, err := env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var verdicts map[string]int
	framework.Eventually(t, 5*time.Minute, "a verdict Event for each CustomRun", func(ctx context.Context) (bool, error) {
		evs, err := env.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		verdicts = map[string]int{}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "CustomRun" && e.Reason == "Passed" {
				verdicts[e.InvolvedObject.Name] += int(max(e.Count, 1))
			}
		}
		for _, cr := range l.Items {
			if verdicts[cr.Name] == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	for _, cr := range l.Items {
		if verdicts[cr.Name] != 1 {
			t.Errorf("CustomRun %s (PipelineRun %s) has %d verdict Events, want exactly 1", cr.Name, cr.Labels[pipeline.PipelineRunLabelKey], verdicts[cr.Name])
		}
	}

	span := last.Sub(first).Seconds()
	t.Logf("two replicas: %d gates, 2 replicas: PipelineRuns created in %v, all decided %v after the first create; Tekton created the CustomRuns over %v",
		n, created.Round(time.Millisecond), all.Round(time.Millisecond), lastCreated.Sub(first))
	if span > 0 {
		t.Logf("two replicas: throughput %.1f gates/s (first CustomRun created → last completion, 1 s timestamp resolution; bounded by how fast Tekton creates CustomRuns — the controller's own rate is make bench's figure)", float64(n)/span)
	}
	var lat []time.Duration
	for _, cr := range l.Items {
		if ct := cr.Status.CompletionTime; ct != nil {
			lat = append(lat, ct.Sub(cr.CreationTimestamp.Time))
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		t.Logf("two replicas: gate latency (CustomRun created → completed, 1 s resolution): median %v, p95 %v, max %v",
			lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1])
	}
	t.Logf("two replicas: peak memory: replica a %.1f MiB, replica b %.1f MiB (goal < 150 MiB each)", a.PeakMemoryMiB(), b.PeakMemoryMiB())
}

func indent(s string, n int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = strings.Repeat(" ", n) + l
		}
	}
	return strings.Join(lines, "\n")
}
