//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// namedPipeline is Pipeline release, referenced by name: the gate (unless
// gated is false), then build running buildImage.
func namedPipeline(t *testing.T, ns, policyName string, gated bool, buildImage string) *pipelinev1.Pipeline {
	t.Helper()
	var gateTask, after string
	if gated {
		gateTask = fmt.Sprintf(`
  - name: security-gate
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: %s}`, policyName)
		after = "\n    runAfter: [security-gate]"
	}
	y := fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: release
  namespace: %s
spec:
  tasks:%s
  - name: build%s
    taskSpec:
      steps:
      - name: compile
        image: %s
        script: echo build%s
`, ns, gateTask, after, buildImage, strings.ReplaceAll(restricted, "\n      ", "\n        "))
	var p pipelinev1.Pipeline
	if err := yaml.UnmarshalStrict([]byte(y), &p); err != nil {
		t.Fatalf("Pipeline YAML: %v\n%s", err, y)
	}
	return &p
}

var attemptRE = regexp.MustCompile(`try (\d+) undecided`)

// failedAttempts is how many verification attempts of cr's run ended
// undecided, from its Verifying message; -1 when it does not say.
func failedAttempts(c *apis.Condition) int {
	if c == nil || c.Reason != "Verifying" {
		return -1
	}
	m := attemptRE.FindStringSubmatch(c.Message)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// waitFailedAttempts waits until at least n attempts of the gate ended
// undecided (the registry is down), and fails if the gate decides meanwhile.
func waitFailedAttempts(t *testing.T, ns, name string, n int) int {
	t.Helper()
	got := -1
	framework.Eventually(t, 3*time.Minute, fmt.Sprintf("gate %s/%s to retry after %d undecided attempts", ns, name, n), func(ctx context.Context) (bool, error) {
		cr, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := cr.Status.GetCondition(apis.ConditionSucceeded)
		if cr.IsDone() {
			return false, fmt.Errorf("gate decided (%s: %s) while the registry was down", c.Reason, c.Message)
		}
		if a := failedAttempts(c); a > got {
			got = a
		}
		return got >= n, nil
	})
	return got
}

// Once Tekton recorded status.pipelineSpec, it
// runs that copy whatever happens to the Pipeline it named; the gate judges
// the same copy. The registry is down while the Pipeline is swapped, so no
// verdict can be reached before the swap; the verdict comes from an attempt
// that started well after it.
func TestRecordedPipelineSpec(t *testing.T) {
	requireGate(t)
	for _, tc := range []struct {
		name string
		// recordedSigned: the build image of the Pipeline Tekton recorded
		// is signed (else unsigned); the swapped-in Pipeline has the other
		// image, and no gate when it is the unsigned one.
		recordedSigned bool
		wantReason     string
	}{
		// Tekton runs the unsigned image; a gate that reads the live,
		// swapped-in Pipeline would pass it.
		{name: "recorded-unsigned-live-signed", recordedSigned: false, wantReason: "PolicyViolation"},
		// Tekton runs the signed image; the live Pipeline has neither the
		// gate nor a signed image, and is not what runs.
		{name: "recorded-signed-live-ungated-unsigned", recordedSigned: true, wantReason: "Passed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			ctx := context.Background()
			key := fixture.NewKey(t)
			signed := pushImage(t, ns+"/signed", image{signer: key}).String()
			unsigned := pushImage(t, ns+"/unsigned", image{}).String()
			recorded, live := unsigned, signed
			if tc.recordedSigned {
				recorded, live = signed, unsigned
			}
			policyName := "e2e-" + ns
			spec := strictPolicy(key)
			spec.Bundles = nil // a Pipeline by name is the point here
			createPolicy(t, "", policyName, spec)
			if _, err := env.Tekton.TektonV1().Pipelines(ns).Create(ctx, namedPipeline(t, ns, policyName, true, recorded), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			sub := "/v2/" + ns + "/"
			env.Registry.SetFault(sub, framework.RegistryDown)
			t.Cleanup(func() { env.Registry.SetFault(sub, framework.RegistryUp) })
			pr := mustPipelineRun(t, fmt.Sprintf("apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: release, namespace: %s}\nspec:\n  pipelineRef: {name: release}\n", ns))
			if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			cancelRunsAtEnd(t, ns, "release")
			framework.Eventually(t, 2*time.Minute, "PipelineRun "+ns+"/release status.pipelineSpec", func(ctx context.Context) (bool, error) {
				got, err := env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, "release", metav1.GetOptions{})
				return err == nil && got.Status.PipelineSpec != nil, err
			})
			cr := waitCustomRun(t, ns, "release")
			n0 := waitFailedAttempts(t, ns, cr.Name, 1)

			swapped := namedPipeline(t, ns, policyName, !tc.recordedSigned, live)
			cur, err := env.Tekton.TektonV1().Pipelines(ns).Get(ctx, "release", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cur.Spec = swapped.Spec
			if _, err := env.Tekton.TektonV1().Pipelines(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			// Attempt n0+1 may have read the Pipeline before the swap; n0+2
			// started only after n0+1 ended and its backoff passed.
			waitFailedAttempts(t, ns, cr.Name, n0+2)
			env.Registry.SetFault(sub, framework.RegistryUp)

			cr = waitGateDone(t, ns, "release")
			got, err := env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, "release", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ps := got.Status.PipelineSpec; ps == nil || !strings.Contains(dump(ps), recorded) {
				t.Fatalf("PipelineRun %s/release status.pipelineSpec = %s, want the recorded copy running %s", ns, dump(ps), recorded)
			}
			if tc.wantReason == "PolicyViolation" {
				assertGate(t, cr, corev1.ConditionFalse, "PolicyViolation", "fail")
				assertReportHas(t, cr, "image-signature")
				if r := reportOf(cr); !strings.Contains(r, recorded) {
					t.Fatalf("gate report does not name the recorded Pipeline's unsigned image %s: %s", recorded, r)
				}
				assertNoTaskRuns(t, ns, "after the gate failed")
				return
			}
			assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
			var verified []string
			v, _ := result(cr, "verified-images")
			_ = json.Unmarshal([]byte(v), &verified)
			tr := waitTaskRun(t, ns, "build")
			for _, im := range stepImages(t, ns, tr.Name) {
				if im != recorded || !slices.Contains(verified, im) {
					t.Fatalf("TaskRun %s runs %s; want the recorded Pipeline's %s, verified by the gate (verified-images %v)", tr.Name, im, recorded, verified)
				}
			}
		})
	}
}

// The controller requires the gate in the
// pipeline it judges. A gate CustomRun that claims a PipelineRun (owned by
// it and labelled as its pipeline task security-gate) whose pipeline has no
// gate at all must fail gate-order, not pass the run's signed images.
func TestGateClaimingUngatedRun(t *testing.T) {
	requireGate(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	key := fixture.NewKey(t)
	signed := pushImage(t, ns+"/signed", image{signer: key}).String()
	policyName := "e2e-" + ns
	spec := strictPolicy(key)
	spec.Bundles = nil
	createPolicy(t, "", policyName, spec)
	if _, err := env.Tekton.TektonV1().Pipelines(ns).Create(ctx, namedPipeline(t, ns, policyName, false, signed), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pr := mustPipelineRun(t, fmt.Sprintf("apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: release, namespace: %s}\nspec:\n  pipelineRef: {name: release}\n", ns))
	created, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancelRunsAtEnd(t, ns, "release")
	framework.Eventually(t, 2*time.Minute, "PipelineRun "+ns+"/release status.pipelineSpec", func(ctx context.Context) (bool, error) {
		got, err := env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, "release", metav1.GetOptions{})
		return err == nil && got.Status.PipelineSpec != nil, err
	})
	claim := &v1beta1.CustomRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "release-security-gate", Namespace: ns,
			Labels: map[string]string{pipeline.PipelineRunLabelKey: "release", pipeline.PipelineTaskLabelKey: "security-gate"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: "release", UID: created.UID, Controller: ptr.To(true),
			}},
		},
		Spec: v1beta1.CustomRunSpec{CustomRef: &v1beta1.TaskRef{
			APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindClusterSecurityGate, Name: policyName,
		}},
	}
	if _, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cr := waitGateDone(t, ns, "release")
	assertGate(t, cr, corev1.ConditionFalse, "PolicyViolation", "fail")
	assertReportHas(t, cr, "gate-order")
}
