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

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// requireGate skips a test when the suite runs without our controller
// (the tree does not have it yet).
func requireGate(t *testing.T) {
	t.Helper()
	if gateErr != nil {
		t.Fatalf("the security-gate controller did not start: %v", gateErr)
	}
	if gateBin == "" {
		t.Skip("no cmd/controller or config/*.yaml in the tree: security-gate controller not started")
	}
}

// cosignVuln is cosign's vulnerability predicate type.
const cosignVuln = "https://cosign.sigstore.dev/attestation/vuln/v1"

// vulnPredicate is a cosign vuln predicate wrapping a Trivy report that
// finished at finished, with one CRITICAL finding per id in critical.
func vulnPredicate(t *testing.T, finished time.Time, critical ...string) []byte {
	t.Helper()
	var vulns []map[string]any
	for _, id := range critical {
		vulns = append(vulns, map[string]any{
			"VulnerabilityID": id, "PkgName": "openssl", "InstalledVersion": "3.0.0",
			"FixedVersion": "3.0.1", "Severity": "CRITICAL",
		})
	}
	ts := finished.UTC().Format(time.RFC3339)
	result := map[string]any{"Target": "e2e (debian 12.8)", "Class": "os-pkgs", "Type": "debian"}
	if len(vulns) > 0 {
		result["Vulnerabilities"] = vulns
	}
	b, err := json.Marshal(map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "", "event_id": "", "builder.id": ""},
		"scanner": map[string]any{
			"uri": "pkg:github/aquasecurity/trivy@v0.58.1", "version": "0.58.1",
			"db": map[string]any{"uri": "", "version": ""},
			"result": map[string]any{
				"SchemaVersion": 2, "CreatedAt": ts, "ArtifactType": "container_image",
				"Results": []any{result},
			},
		},
		"metadata": map[string]any{"scanStartedOn": ts, "scanFinishedOn": ts},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// image pushes a random image to repo in the suite's registry; signer, when
// set, signs it and attests a scan (finished at scanned) with the given
// critical CVEs.
type image struct {
	signer   *fixture.Signer
	scanned  time.Time
	critical []string
}

func pushImage(t *testing.T, repo string, im image) name.Digest {
	t.Helper()
	d := fixture.PushRandomImage(t, env.Registry.Host+"/"+repo+":latest")
	if im.signer != nil {
		im.signer.SignClassic(t, d)
		scanned := im.scanned
		if scanned.IsZero() {
			scanned = time.Now()
		}
		im.signer.AttestClassic(t, d, cosignVuln, vulnPredicate(t, scanned, im.critical...))
	}
	return d
}

// pushSignedBundle pushes a Tekton bundle and signs it with signer (if set).
func pushSignedBundle(t *testing.T, repo, objs string, signer *fixture.Signer) string {
	t.Helper()
	ref, err := env.Registry.PushBundle(repo+":v1", objs)
	if err != nil {
		t.Fatal(err)
	}
	if signer != nil {
		d, err := name.NewDigest(ref)
		if err != nil {
			t.Fatal(err)
		}
		signer.SignClassic(t, d)
	}
	return ref
}

// strictPolicy is the compliant baseline: signed bundles and images by key,
// a fresh scan with no Critical CVE, restricted steps.
func strictPolicy(key *fixture.Signer) v1alpha1.SecurityGateSpec {
	return v1alpha1.SecurityGateSpec{
		Mode:        v1alpha1.ModeEnforce,
		Authorities: []v1alpha1.Authority{{Name: "team", Key: &v1alpha1.KeyAuthority{Data: key.PublicPEM}, IgnoreTlog: true}},
		Bundles:     &v1alpha1.BundlePolicy{Required: true, RequireDigest: true, Authorities: []string{"team"}},
		Images:      &v1alpha1.ImagePolicy{RequireDigest: true, Authorities: []string{"team"}},
		Attestations: []v1alpha1.AttestationPolicy{{
			Name: "scan", Type: "vuln", Authorities: []string{"team"}, MaxAge: "168h",
			Vulnerabilities: &v1alpha1.VulnerabilityPolicy{Deny: []string{"Critical"}},
		}},
		SecurityContext: &v1alpha1.SecurityContextPolicy{Level: v1alpha1.LevelRestricted},
	}
}

// createPolicy creates a ClusterSecurityGate (ns == "") or a SecurityGate in
// ns, deleted when the test ends.
func createPolicy(t *testing.T, ns, policyName string, spec v1alpha1.SecurityGateSpec) {
	t.Helper()
	kind, resource := v1alpha1.KindClusterSecurityGate, "clustersecuritygates"
	if ns != "" {
		kind, resource = v1alpha1.KindSecurityGate, "securitygates"
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "securitygate.dev/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": policyName}, "spec": m,
	}}
	gvr := schema.GroupVersionResource{Group: "securitygate.dev", Version: "v1alpha1", Resource: resource}
	ri := env.Dynamic.Resource(gvr)
	var c interface {
		Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
		Delete(context.Context, string, metav1.DeleteOptions, ...string) error
	} = ri
	if ns != "" {
		u.SetNamespace(ns)
		c = ri.Namespace(ns)
	}
	if _, err := c.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s %s: %v", kind, policyName, err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), policyName, metav1.DeleteOptions{}) })
}

// restricted is a step securityContext that meets the restricted level.
const restricted = `
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
        seccompProfile: {type: RuntimeDefault}`

// stepImage is one step of the build task: its image and securityContext
// (restricted when empty).
type stepImage struct {
	d               name.Digest
	securityContext string
}

// buildTaskOf is a Task named build with one step per stepImage.
func buildTaskOf(steps []stepImage) string {
	var b strings.Builder
	b.WriteString("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: build\nspec:\n  steps:\n")
	for i, s := range steps {
		sc := s.securityContext
		if sc == "" {
			sc = restricted
		}
		fmt.Fprintf(&b, "    - name: step%d\n      image: %s\n      script: echo %d%s\n", i, s.d, i, sc)
	}
	return b.String()
}

// gatedPipeline is a Pipeline named release: the gate (policy kind/name),
// then build from taskBundle after it.
func gatedPipeline(kind, policyName, taskBundle string) string {
	return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: release
spec:
  tasks:
  - name: security-gate
    taskRef:
      apiVersion: securitygate.dev/v1alpha1
      kind: %s
      name: %s
  - name: build
    runAfter: [security-gate]
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: %s}
      - {name: name, value: build}
      - {name: kind, value: task}
`, kind, policyName, taskBundle)
}

// runPipelineBundle creates PipelineRun name in ns running pipeline release
// from pipelineBundle.
func runPipelineBundle(t *testing.T, ns, prName, pipelineBundle string) {
	t.Helper()
	pr := mustPipelineRun(t, fmt.Sprintf(`
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: %s
  namespace: %s
spec:
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: %s}
    - {name: name, value: release}
    - {name: kind, value: pipeline}
`, prName, ns, pipelineBundle))
	if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(context.Background(), pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitGateDone waits for the gate's CustomRun of PipelineRun pr to finish.
func waitGateDone(t *testing.T, ns, pr string) *v1beta1.CustomRun {
	t.Helper()
	cr := waitCustomRun(t, ns, pr)
	framework.Eventually(t, 3*time.Minute, "gate CustomRun "+ns+"/"+cr.Name+" to finish", func(ctx context.Context) (bool, error) {
		got, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, cr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cr = got
		return cr.IsDone(), nil
	})
	return cr
}

func result(cr *v1beta1.CustomRun, name string) (string, bool) {
	for _, r := range cr.Status.Results {
		if r.Name == name {
			return r.Value, true
		}
	}
	return "", false
}

// assertGate checks the gate's condition and verdict result.
func assertGate(t *testing.T, cr *v1beta1.CustomRun, status corev1.ConditionStatus, reason, verdict string) {
	t.Helper()
	c := cr.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil || c.Status != status || c.Reason != reason {
		t.Fatalf("gate CustomRun %s/%s Succeeded = %v, want %s/%s\nresults: %s", cr.Namespace, cr.Name, c, status, reason, dump(cr.Status.Results))
	}
	if verdict == "" {
		return
	}
	if got, _ := result(cr, "verdict"); got != verdict {
		t.Fatalf("gate CustomRun %s/%s result verdict = %q, want %q (report: %s)", cr.Namespace, cr.Name, got, verdict, reportOf(cr))
	}
}

func reportOf(cr *v1beta1.CustomRun) string {
	r, _ := result(cr, "report")
	return r
}

// assertReportHas checks that the report result names check id.
func assertReportHas(t *testing.T, cr *v1beta1.CustomRun, check string) {
	t.Helper()
	if r := reportOf(cr); !strings.Contains(r, `"check":"`+check+`"`) {
		t.Fatalf("gate CustomRun %s/%s report has no finding of check %q: %s", cr.Namespace, cr.Name, check, r)
	}
}

// assertEvent checks that an Event of the given reason was recorded on cr.
func assertEvent(t *testing.T, cr *v1beta1.CustomRun, reason string) {
	t.Helper()
	framework.Eventually(t, time.Minute, "an Event "+reason+" on CustomRun "+cr.Name, func(ctx context.Context) (bool, error) {
		l, err := env.Kube.CoreV1().Events(cr.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + cr.Name})
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(l.Items, func(e corev1.Event) bool { return e.Reason == reason }), nil
	})
}

// stepImages lists the images of the step containers of a TaskRun's Pod.
func stepImages(t *testing.T, ns, taskRun string) []string {
	t.Helper()
	podName := waitPod(t, ns, taskRun)
	pod, err := env.Kube.CoreV1().Pods(ns).Get(context.Background(), podName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range pod.Spec.Containers {
		if strings.HasPrefix(c.Name, "step-") {
			out = append(out, c.Image)
		}
	}
	return out
}
