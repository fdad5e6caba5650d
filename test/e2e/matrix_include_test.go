//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// matrixIncludeRun is a gated PipelineRun whose build task fans out over a
// matrix param that comes from a result of produce, while a matrix include
// entry sets the tool param (the step's image) of every combination to
// includeImage, replacing the Task's signed default.
func matrixIncludeRun(ns, policyName, lister, defaultTool, includeImage string) string {
	return fmt.Sprintf(`
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: release
  namespace: %[1]s
spec:
  pipelineSpec:
    tasks:
    - name: security-gate
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: %[2]s}
    - name: produce
      runAfter: [security-gate]
      taskSpec:
        results:
        - {name: flavors, type: array}
        steps:
        - name: list
          image: %[3]s
          script: echo list%[6]s
    - name: build
      taskSpec:
        params:
        - name: flavor
        - name: tool
          default: %[4]s
        steps:
        - name: compile
          image: $(params.tool)
          script: echo $(params.flavor)%[6]s
      matrix:
        params:
        - name: flavor
          value: $(tasks.produce.results.flavors[*])
        include:
        - name: fixed-tool
          params:
          - {name: tool, value: %[5]s}
`, ns, policyName, lister, defaultTool, includeImage, strings.ReplaceAll(restricted, "\n      ", "\n          "))
}

// Matrix include entries apply to every
// combination even when another matrix param comes from a task result. An
// include entry that swaps the step's image for an unpinned, unsigned one
// must stop the run; with a signed include image the run passes and every
// Pod Tekton fans out runs exactly that image, which the gate verified.
func TestMatrixIncludeWithResultParam(t *testing.T) {
	requireGate(t)
	for _, tc := range []struct {
		name string
		// unsafeInclude: the include entry's image is unsigned and by tag.
		unsafeInclude bool
	}{
		{name: "unsigned-unpinned-include", unsafeInclude: true},
		{name: "signed-include", unsafeInclude: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			key := fixture.NewKey(t)
			lister := pushImage(t, ns+"/lister", image{signer: key})
			defaultTool := pushImage(t, ns+"/default-tool", image{signer: key})
			var include string
			if tc.unsafeInclude {
				pushImage(t, ns+"/include-tool", image{})
				include = env.Registry.Host + "/" + ns + "/include-tool:latest"
			} else {
				include = pushImage(t, ns+"/include-tool", image{signer: key}).String()
			}
			policyName := "e2e-" + ns
			spec := strictPolicy(key)
			spec.Bundles = nil // embedded tasks: the case is about images
			createPolicy(t, "", policyName, spec)
			pr := mustPipelineRun(t, matrixIncludeRun(ns, policyName, lister.String(), defaultTool.String(), include))
			if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(context.Background(), pr, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			cancelRunsAtEnd(t, ns, "release")

			cr := waitGateDone(t, ns, "release")
			if tc.unsafeInclude {
				c := cr.Status.GetCondition(apis.ConditionSucceeded)
				if c == nil || c.IsTrue() {
					t.Fatalf("gate CustomRun %s/%s = %v, want it not to pass: every build combination runs the include's unsigned %s; report: %s",
						ns, cr.Name, c, include, reportOf(cr))
				}
				assertGate(t, cr, corev1.ConditionFalse, "PolicyViolation", "fail")
				if r := reportOf(cr); !strings.Contains(r, include) {
					t.Fatalf("gate CustomRun %s/%s report does not name the include's image %s: %s", ns, cr.Name, include, r)
				}
				for _, check := range []string{"image-digest", "image-signature"} {
					assertReportHas(t, cr, check)
				}
				pr := waitPipelineRunDone(t, ns, "release")
				if c := pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsFalse() {
					t.Fatalf("PipelineRun %s/release Succeeded = %v, want False", ns, c)
				}
				assertNoTaskRuns(t, ns, "after the gate failed")
				return
			}

			assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
			var verified []string
			if v, _ := result(cr, "verified-images"); json.Unmarshal([]byte(v), &verified) != nil || !slices.Contains(verified, include) {
				t.Fatalf("gate verified-images = %s, want it to list the include's image %s", v, include)
			}
			// produce reports two flavors; Tekton then fans build out to
			// two Pods, each running the include's image.
			tr := waitTaskRun(t, ns, "produce")
			if err := env.CompleteBuildPod(context.Background(), ns, tr.Name, framework.BuildPod{Now: time.Now(),
				Results: []framework.TaskResult{{Name: "flavors", Value: `["debug","release"]`}}}, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			var images []string
			framework.Eventually(t, 2*time.Minute, "the two Pods of the build matrix in "+ns, func(ctx context.Context) (bool, error) {
				l, err := env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineTaskLabelKey + "=build"})
				if err != nil || len(l.Items) < 2 {
					return false, err
				}
				images = nil
				for _, p := range l.Items {
					for _, c := range p.Spec.Containers {
						if c.Name == "step-compile" {
							images = append(images, c.Image)
						}
					}
				}
				return true, nil
			})
			if len(images) != 2 || images[0] != include || images[1] != include {
				t.Fatalf("build Pods run %v, want the include's image %s in both", images, include)
			}
		})
	}
}
