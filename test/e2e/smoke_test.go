//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/test/e2e/framework"
)

// TestHarnessSmoke proves the harness without our controller: Tekton
// creates the custom task's CustomRun before anything else, resolves the
// downstream task from a bundle in the loopback registry, and acts on the
// CustomRun's outcome, which the test sets itself. The custom task's kind is
// one no controller here selects (our controller would otherwise race the
// test for the CustomRun's status).
func TestHarnessSmoke(t *testing.T) {
	bundle, err := env.Registry.PushBundle("e2e/smoke-task:v1", `
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: hello
spec:
  steps:
  - name: echo
    image: `+env.Registry.Host+`/e2e/step:latest
    script: echo hello
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		succeed     bool
		wantTaskRun bool
		wantPR      corev1.ConditionStatus
	}{
		{name: "gate-succeeds", succeed: true, wantTaskRun: true, wantPR: corev1.ConditionTrue},
		{name: "gate-fails", succeed: false, wantTaskRun: false, wantPR: corev1.ConditionFalse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			ctx := context.Background()
			pr := mustPipelineRun(t, fmt.Sprintf(`
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: smoke
  namespace: %s
spec:
  pipelineSpec:
    tasks:
    - name: gate
      taskRef:
        apiVersion: e2e.securitygate.dev/v1alpha1
        kind: ManualGate
        name: x
    - name: build
      runAfter: [gate]
      taskRef:
        resolver: bundles
        params:
        - {name: bundle, value: %s}
        - {name: name, value: hello}
        - {name: kind, value: task}
`, ns, bundle))
			if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			cr := waitCustomRun(t, ns, "smoke")
			if got := cr.Spec.CustomRef; got == nil || got.Kind != "ManualGate" || got.Name != "x" || got.APIVersion != "e2e.securitygate.dev/v1alpha1" {
				t.Fatalf("CustomRun %s spec.customRef = %+v, want e2e.securitygate.dev/v1alpha1 ManualGate x", cr.Name, got)
			}
			// The bundle was resolved before the gate's CustomRun existed, at
			// the digest pushed.
			rrs, err := env.Resolution.ResolutionV1beta1().ResolutionRequests(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantDigest := bundle[strings.LastIndex(bundle, "@sha256:")+len("@sha256:"):]
			if len(rrs.Items) != 1 || !rrs.Items[0].Status.GetCondition(apis.ConditionSucceeded).IsTrue() ||
				rrs.Items[0].Status.RefSource == nil || rrs.Items[0].Status.RefSource.Digest["sha256"] != wantDigest {
				t.Fatalf("ResolutionRequests in %s = %s, want one Succeeded with refSource digest sha256:%s", ns, dump(rrs.Items), wantDigest)
			}
			assertNoTaskRuns(t, ns, "while the gate's CustomRun is undecided")

			if tc.succeed {
				cr.Status.MarkCustomRunSucceeded("Passed", "smoke test marked the gate passed")
			} else {
				cr.Status.MarkCustomRunFailed("PolicyViolation", "smoke test marked the gate failed")
			}
			if _, err := env.Tekton.TektonV1beta1().CustomRuns(ns).UpdateStatus(ctx, cr, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}

			if tc.wantTaskRun {
				tr := waitTaskRun(t, ns, "build")
				pod := waitPod(t, ns, tr.Name)
				if err := env.CompletePod(ctx, ns, pod); err != nil {
					t.Fatal(err)
				}
			}
			got := waitPipelineRunDone(t, ns, "smoke")
			if c := got.Status.GetCondition(apis.ConditionSucceeded); c.Status != tc.wantPR {
				t.Fatalf("PipelineRun %s/smoke Succeeded = %s (%s: %s), want %s", ns, c.Status, c.Reason, c.Message, tc.wantPR)
			}
			if !tc.wantTaskRun {
				assertNoTaskRuns(t, ns, "after the gate failed")
			}
		})
	}
}

func mustPipelineRun(t *testing.T, y string) *pipelinev1.PipelineRun {
	t.Helper()
	var pr pipelinev1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(y), &pr); err != nil {
		t.Fatalf("PipelineRun YAML: %v", err)
	}
	return &pr
}

func dump(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

// waitCustomRun waits for the CustomRun Tekton creates for PipelineRun pr.
func waitCustomRun(t *testing.T, ns, pr string) *v1beta1.CustomRun {
	t.Helper()
	var cr *v1beta1.CustomRun
	framework.Eventually(t, 2*time.Minute, "the CustomRun of PipelineRun "+ns+"/"+pr, func(ctx context.Context) (bool, error) {
		l, err := env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + pr})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		cr = &l.Items[0]
		return true, nil
	})
	return cr
}

func waitTaskRun(t *testing.T, ns, pipelineTask string) *pipelinev1.TaskRun {
	t.Helper()
	var tr *pipelinev1.TaskRun
	framework.Eventually(t, 2*time.Minute, "TaskRun of pipeline task "+ns+"/"+pipelineTask, func(ctx context.Context) (bool, error) {
		l, err := env.Tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineTaskLabelKey + "=" + pipelineTask})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		tr = &l.Items[0]
		return true, nil
	})
	return tr
}

func waitPod(t *testing.T, ns, taskRun string) string {
	t.Helper()
	var name string
	framework.Eventually(t, 2*time.Minute, "the Pod of TaskRun "+ns+"/"+taskRun, func(ctx context.Context) (bool, error) {
		l, err := env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.TaskRunLabelKey + "=" + taskRun})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		name = l.Items[0].Name
		return true, nil
	})
	return name
}

func waitPipelineRunDone(t *testing.T, ns, name string) *pipelinev1.PipelineRun {
	t.Helper()
	var pr *pipelinev1.PipelineRun
	framework.Eventually(t, 2*time.Minute, "PipelineRun "+ns+"/"+name+" to finish", func(ctx context.Context) (bool, error) {
		var err error
		pr, err = env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return pr.IsDone(), nil
	})
	return pr
}

// assertNoTaskRuns fails if any TaskRun exists in ns. A TaskRun cannot be
// created and disappear in between: nothing here deletes them.
func assertNoTaskRuns(t *testing.T, ns, when string) {
	t.Helper()
	l, err := env.Tekton.TektonV1().TaskRuns(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Fatalf("%d TaskRun(s) in %s %s (first: %s), want none", len(l.Items), ns, when, l.Items[0].Name)
	}
}
