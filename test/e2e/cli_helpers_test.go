//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/security-gate/security-gate/test/e2e/framework"
)

// The latest catalog Task's sample RBAC, and the names it uses that the
// test adapts to its own namespace.
const (
	taskRBACSample    = "tasks/security-gate/0.2/samples/rbac.yaml"
	taskRBACNamespace = "team-a"
	taskSA            = "pipeline"
	policyReaderRole  = "security-gate-policy-reader"
)

// buildCLI builds ./cmd/security-gate once for the test.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "security-gate")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/security-gate")
	cmd.Dir = env.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/security-gate: %v\n%s", err, out)
	}
	return bin
}

// applyTaskRBAC applies the catalog Task's samples/rbac.yaml with its
// namespace replaced by ns (and so its ClusterRoleBinding's name too), and
// returns a kubeconfig for its ServiceAccount: the CLI then runs with
// exactly the permissions the Task documents.
func applyTaskRBAC(t *testing.T, ns string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Root, taskRBACSample))
	if err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(string(b), taskRBACNamespace, ns)
	if !strings.Contains(y, "namespace: "+ns) {
		t.Fatalf("%s: no object in namespace %s: the sample no longer uses %q", taskRBACSample, taskRBACNamespace, taskRBACNamespace)
	}
	ctx := context.Background()
	if err := env.ApplyYAML(ctx, y); err != nil {
		t.Fatalf("apply %s (namespace %s): %v", taskRBACSample, ns, err)
	}
	t.Cleanup(func() {
		_ = env.Kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), policyReaderRole+"-"+ns, metav1.DeleteOptions{})
	})
	return saKubeconfig(t, ns, taskSA)
}

// saKubeconfig creates (if needed) ServiceAccount ns/sa and returns a
// kubeconfig with a TokenRequest token for it.
func saKubeconfig(t *testing.T, ns, sa string) string {
	t.Helper()
	ctx := context.Background()
	_, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("create ServiceAccount %s/%s: %v", ns, sa, err)
	}
	kcfg, err := env.ServiceAccountKubeconfig(ctx, ns, sa)
	if err != nil {
		t.Fatal(err)
	}
	return kcfg
}

// bindPolicyReader binds only the Task's ClusterRole (get on
// ClusterSecurityGates) to ns/sa: it may read the policy, not the run.
func bindPolicyReader(t *testing.T, ns, sa string) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + ns + "-" + sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: policyReaderRole},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}
	if _, err := env.Kube.RbacV1().ClusterRoleBindings().Create(context.Background(), crb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRoleBinding %s: %v", crb.Name, err)
	}
	t.Cleanup(func() {
		_ = env.Kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
}

// bindTektonReaderOnly gives ns/sa the Task's Role minus its
// resolutionrequests rule, plus the policy reader: it can read the run and
// what it names, but not how Tekton resolved its bundles.
func bindTektonReaderOnly(t *testing.T, ns, sa string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"tekton.dev"},
			Resources: []string{"pipelineruns", "pipelines", "taskruns", "tasks", "customruns", "stepactions"},
			Verbs:     []string{"get", "list", "watch"},
		}},
	}
	if _, err := env.Kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Role %s/%s: %v", ns, sa, err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: sa},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}
	if _, err := env.Kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create RoleBinding %s/%s: %v", ns, sa, err)
	}
	bindPolicyReader(t, ns, sa)
}

// restrictedSC meets the restricted level (the scenarios' `restricted`).
func restrictedSC() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To(int64(1000)),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// cliStep is one step of the downstream build task.
type cliStep struct {
	d          name.Digest
	privileged bool
}

// createGatedRun creates PipelineRun prName in ns with an embedded pipeline:
// a plain-Task gate named security-gate (standing in for the catalog Task,
// whose image is a ko:// placeholder in the tree) running gateImage, then
// build with steps, after it. It runs as the Task's ServiceAccount. It waits
// until Tekton has resolved the run (status.pipelineSpec set).
func createGatedRun(t *testing.T, ns, prName string, gateImage name.Digest, steps []cliStep) {
	t.Helper()
	var build []pipelinev1.Step
	for i, s := range steps {
		sc := restrictedSC()
		if s.privileged {
			sc.Privileged = ptr.To(true)
			sc.AllowPrivilegeEscalation = ptr.To(true)
		}
		build = append(build, pipelinev1.Step{
			Name: "step" + string(rune('a'+i)), Image: s.d.String(), Script: "echo build", SecurityContext: sc,
		})
	}
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: prName, Namespace: ns},
		Spec: pipelinev1.PipelineRunSpec{
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: taskSA},
			PipelineSpec: &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{
				{
					Name: "security-gate",
					TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{
						Name: "verify", Image: gateImage.String(), Script: "security-gate verify", SecurityContext: restrictedSC(),
					}}}},
				},
				{
					Name:     "build",
					RunAfter: []string{"security-gate"},
					TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{Steps: build}},
				},
			}},
		},
	}
	if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(context.Background(), pr, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create PipelineRun %s/%s: %v", ns, prName, err)
	}
}

// waitResolved waits until Tekton has resolved PipelineRun ns/prName:
// status.pipelineSpec is set and the gate's TaskRun exists (Tekton creates
// TaskRuns only once every pipeline task's reference is resolved, so every
// ResolutionRequest of the run is complete by then).
func waitResolved(t *testing.T, ns, prName string) {
	t.Helper()
	framework.Eventually(t, 2*time.Minute, "PipelineRun "+ns+"/"+prName+" resolved (status.pipelineSpec and the gate TaskRun)", func(ctx context.Context) (bool, error) {
		pr, err := env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, prName, metav1.GetOptions{})
		if err != nil || pr.Status.PipelineSpec == nil {
			return false, err
		}
		l, err := env.Tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{
			LabelSelector: pipeline.PipelineRunLabelKey + "=" + prName + "," + pipeline.PipelineTaskLabelKey + "=security-gate",
		})
		return err == nil && len(l.Items) > 0, err
	})
}

// gatedPipelineCLI is a Pipeline named release for a bundle: the plain-Task
// gate security-gate (embedded, running gateImage), then build from
// taskBundle after it.
func gatedPipelineCLI(gateImage name.Digest, taskBundle string) string {
	return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: release
spec:
  tasks:
  - name: security-gate
    taskSpec:
      steps:
      - name: verify
        image: %s
        script: security-gate verify
        securityContext:
          runAsNonRoot: true
          runAsUser: 1000
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}
  - name: build
    runAfter: [security-gate]
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: %s}
      - {name: name, value: build}
      - {name: kind, value: task}
`, gateImage, taskBundle)
}

// cancelRunsAtEnd cancels the test's PipelineRuns when it ends: their gate
// TaskRuns never finish here (no kubelet), and nothing garbage-collects a
// deleted namespace, so Tekton would keep them for the rest of the suite.
func cancelRunsAtEnd(t *testing.T, ns string, prs ...string) {
	t.Cleanup(func() {
		for _, pr := range prs {
			_, _ = env.Tekton.TektonV1().PipelineRuns(ns).Patch(context.Background(), pr, types.MergePatchType,
				[]byte(`{"spec":{"status":"Cancelled"}}`), metav1.PatchOptions{})
		}
	})
}

// cliResult is one run of the CLI.
type cliResult struct {
	code           int
	stdout, stderr string
	report         map[string]any // the -o json document
	results        map[string]string
}

// resultFiles are the Tekton results --results-dir writes.
var resultFiles = []string{"verdict", "violations", "report", "verified-images"}

// runCLI runs bin with args plus --results-dir, loopback only: HOME is
// empty (no registry credentials, no kubeconfig but the one passed).
func runCLI(t *testing.T, bin string, args ...string) cliResult {
	t.Helper()
	dir := t.TempDir()
	home := t.TempDir()
	// Flags before "--"; images after it.
	full := []string{"verify", "--results-dir", dir}
	full = append(full, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String(), results: map[string]string{}}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("security-gate %s: %v\nstderr: %s", strings.Join(full, " "), err, r.stderr)
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.report); err != nil {
		t.Fatalf("security-gate %s (exit %d): stdout is not one JSON object: %v\nstdout: %s\nstderr: %s",
			strings.Join(full, " "), r.code, err, r.stdout, r.stderr)
	}
	for _, f := range resultFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("security-gate (exit %d): result file %s not written: %v\nstderr: %s", r.code, f, err, r.stderr)
			continue
		}
		r.results[f] = string(b)
	}
	return r
}

// checks lists the check ids of the report's findings of kind
// ("violations", "warnings" or "errors").
func (r cliResult) checks(kind string) []string {
	var out []string
	fs, _ := r.report[kind].([]any)
	for _, f := range fs {
		if m, ok := f.(map[string]any); ok {
			c, _ := m["check"].(string)
			out = append(out, c)
		}
	}
	return out
}

// has reports whether a finding of kind has check id check (any when
// empty) and a message containing msg.
func (r cliResult) has(kind, check, msg string) bool {
	fs, _ := r.report[kind].([]any)
	return slices.ContainsFunc(fs, func(f any) bool {
		m, _ := f.(map[string]any)
		message, _ := m["message"].(string)
		return (check == "" || m["check"] == check) && strings.Contains(message, msg)
	})
}
