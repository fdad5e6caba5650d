package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	fakepipeline "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	fakeresolution "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakekube "k8s.io/client-go/kubernetes/fake"
	ktesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	fakesg "github.com/security-gate/security-gate/pkg/client/clientset/versioned/fake"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
)

// fakeCluster is an API server made of fake clientsets, for what the e2e
// suite does not need a real one for.
type fakeCluster struct {
	namespace  string           // the kubeconfig context's namespace
	tekton     []runtime.Object // PipelineRuns, Pipelines, Tasks
	policies   []runtime.Object // ClusterSecurityGates
	secrets    []runtime.Object
	policyErr  error // returned by every read of a ClusterSecurityGate
	connectErr error
	// connects counts connections: one per invocation at most.
	connects *int
}

func (f fakeCluster) connect(kubeconfig string) (*clusterConn, error) {
	if f.connects != nil {
		*f.connects++
	}
	if f.connectErr != nil {
		return nil, f.connectErr
	}
	sg := fakesg.NewSimpleClientset(f.policies...)
	if f.policyErr != nil {
		sg.PrependReactor("get", "clustersecuritygates", func(ktesting.Action) (bool, runtime.Object, error) {
			return true, nil, f.policyErr
		})
	}
	return &clusterConn{
		namespace: f.namespace,
		tekton:    &pipelinerunresolver.Clients{Tekton: fakepipeline.NewSimpleClientset(f.tekton...), Resolution: fakeresolution.NewSimpleClientset()},
		policies:  sg,
		secrets:   fakekube.NewSimpleClientset(f.secrets...).CoreV1(),
	}, nil
}

// cliCluster runs the command in-process against f.
func cliCluster(t *testing.T, f fakeCluster, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code = runWith(args, stdin, &out, &errOut, env{connect: f.connect})
	return code, out.String(), errOut.String()
}

// jsonReportCluster is jsonReport against f.
func jsonReportCluster(t *testing.T, f fakeCluster, args ...string) (int, gate.Report, string) {
	t.Helper()
	code, stdout, stderr := cliCluster(t, f, nil, append([]string{"verify", "-o", "json"}, args...)...)
	var r gate.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not a JSON report (exit %d): %v\nstdout: %s\nstderr: %s", code, err, stdout, stderr)
	}
	return code, r, stderr
}

// clusterPolicy decodes a ClusterSecurityGate as the API server stores it.
func clusterPolicy(t *testing.T, doc string) *v1alpha1.ClusterSecurityGate {
	t.Helper()
	var g v1alpha1.ClusterSecurityGate
	if err := yaml.UnmarshalStrict([]byte(doc), &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// staticPolicy is testdata/policy.yaml: checks that need no registry.
const staticPolicy = `apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: static}
spec:
  mode: Enforce
  namespaces: {deny: [default]}
  images: {requireDigest: true}
  securityContext: {level: restricted}
  gateOrder: Enforce
`

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestVerifyPolicyName(t *testing.T) {
	static := clusterPolicy(t, staticPolicy)
	invalid := clusterPolicy(t, `apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: invalid}
spec:
  mode: Sometimes
  images: {authorities: [nobody]}
`)
	// Defaulting is the controller's: an empty spec is a valid policy with
	// the default mode (Enforce), so the noncompliant inputs fail it.
	defaults := clusterPolicy(t, `apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: defaults}
spec: {}
`)
	secretRef := clusterPolicy(t, mustRead(t, p("policy-secretref.yaml")))
	gr := schema.GroupResource{Group: "securitygate.dev", Resource: "clustersecuritygates"}
	compliant, noncompliant := p("compliant-inline.yaml"), p("noncompliant")

	tests := []struct {
		name        string
		cluster     fakeCluster
		args        []string
		wantCode    int
		wantVerdict gate.Verdict
		wantCheck   string
		wantText    []string
	}{
		{name: "pass", cluster: fakeCluster{policies: []runtime.Object{static}},
			args: []string{"--policy-name", "static", "-f", compliant}, wantCode: 0, wantVerdict: gate.VerdictPass},
		{name: "violations", cluster: fakeCluster{policies: []runtime.Object{static}},
			args: []string{"--policy-name=static", "-f", noncompliant}, wantCode: 1, wantVerdict: gate.VerdictFail, wantCheck: gate.CheckNamespace},
		{name: "defaulted like the controller", cluster: fakeCluster{policies: []runtime.Object{defaults}},
			args: []string{"--policy-name", "defaults", "-f", noncompliant}, wantCode: 1, wantVerdict: gate.VerdictFail},
		{name: "not found", cluster: fakeCluster{policies: []runtime.Object{static}},
			args: []string{"--policy-name", "strict", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError, wantCheck: gate.CheckPolicy,
			wantText: []string{"clustersecuritygate/strict", `ClusterSecurityGate \"strict\" not found`}},
		{name: "invalid", cluster: fakeCluster{policies: []runtime.Object{invalid}},
			args: []string{"--policy-name", "invalid", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError, wantCheck: gate.CheckPolicy,
			wantText: []string{"invalid policy: ClusterSecurityGate/invalid: invalid value", "spec.mode", "spec.images.authorities[0]"}},
		{name: "forbidden", cluster: fakeCluster{policyErr: apierrors.NewForbidden(gr, "static", errors.New("RBAC: access denied"))},
			args: []string{"--policy-name", "static", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError, wantCheck: gate.CheckPolicy,
			wantText: []string{"forbidden", "get on clustersecuritygates.securitygate.dev"}},
		{name: "API server error", cluster: fakeCluster{policyErr: apierrors.NewInternalError(errors.New("etcd timeout"))},
			args: []string{"--policy-name", "static", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError, wantCheck: gate.CheckPolicy,
			wantText: []string{`reading ClusterSecurityGate \"static\"`, "etcd timeout"}},
		{name: "no cluster configuration", cluster: fakeCluster{connectErr: errors.New("no cluster configuration (--kubeconfig, in-cluster, $KUBECONFIG or ~/.kube/config): none")},
			args: []string{"--policy-name", "static", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError, wantCheck: gate.CheckPolicy,
			wantText: []string{"clustersecuritygate/static", "no cluster configuration"}},
		{name: "secretRef: no Secret in the controller's namespace", cluster: fakeCluster{policies: []runtime.Object{secretRef},
			// The same Secret in the run's namespace must not be used.
			secrets: []runtime.Object{secret("ci", "cosign-pub", map[string]string{"cosign.pub": "x"})}},
			args: []string{"--policy-name", "in-cluster-keys", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError, wantCheck: gate.CheckPolicy,
			wantText: []string{"security-gate/cosign-pub", "not found"}},
		{name: "secretRef: --controller-namespace", cluster: fakeCluster{policies: []runtime.Object{secretRef}},
			args: []string{"--policy-name", "in-cluster-keys", "--controller-namespace", "sg-system", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError,
			wantText: []string{"sg-system/cosign-pub"}},
		{name: "secretRef: key missing", cluster: fakeCluster{policies: []runtime.Object{secretRef},
			secrets: []runtime.Object{secret("security-gate", "cosign-pub", map[string]string{"other.pub": "x"})}},
			args: []string{"--policy-name", "in-cluster-keys", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError,
			wantText: []string{`has no key \"cosign.pub\"`}},
		{name: "secretRef: not a PEM key", cluster: fakeCluster{policies: []runtime.Object{secretRef},
			secrets: []runtime.Object{secret("security-gate", "cosign-pub", map[string]string{"cosign.pub": "not a key"})}},
			args: []string{"--policy-name", "in-cluster-keys", "-f", compliant}, wantCode: 2, wantVerdict: gate.VerdictError,
			wantText: []string{"ClusterSecurityGate/in-cluster-keys cannot be used"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			connects := 0
			tt.cluster.connects = &connects
			code, r, stderr := jsonReportCluster(t, tt.cluster, append(tt.args, "--timeout", "30s")...)
			if code != tt.wantCode || r.Verdict != tt.wantVerdict {
				t.Fatalf("exit %d verdict %q, want %d %q\nreport: %+v\nstderr: %s", code, r.Verdict, tt.wantCode, tt.wantVerdict, r, stderr)
			}
			list := map[gate.Verdict][]gate.Finding{gate.VerdictError: r.Errors, gate.VerdictFail: r.Violations}[r.Verdict]
			if tt.wantCheck != "" && !checks(list)[tt.wantCheck] {
				t.Errorf("no %q finding in %+v", tt.wantCheck, list)
			}
			all, _ := json.Marshal(r)
			for _, s := range tt.wantText {
				if !strings.Contains(string(all), s) {
					t.Errorf("report does not mention %s:\n%s", s, all)
				}
			}
			if connects != 1 {
				t.Errorf("connected %d times, want once", connects)
			}
		})
	}
}

// TestVerifyPolicyFileNeedsNoCluster: --policy FILE with -f never loads a
// kubeconfig (the CLI works with no cluster at all).
func TestVerifyPolicyFileNeedsNoCluster(t *testing.T) {
	connects := 0
	code, _, stderr := cliCluster(t, fakeCluster{connects: &connects, connectErr: errors.New("no cluster")}, nil,
		"verify", "--policy", p("policy.yaml"), "-f", p("compliant-inline.yaml"))
	if code != 0 || connects != 0 {
		t.Errorf("exit %d after %d connections, want 0 and none\n%s", code, connects, stderr)
	}
}

// gatedRun is a PipelineRun as the API server holds it once Tekton resolved
// it: the catalog Task's pipeline task "gate" first, everything else after.
func gatedRun(t *testing.T, ns string) runtime.Object {
	return gatedRunWith(t, ns, "registry.example.com/tools/lint@sha256:2222222222222222222222222222222222222222222222222222222222222222")
}

// gatedRunWith is gatedRun with image in every step.
func gatedRunWith(t *testing.T, ns, image string) runtime.Object {
	t.Helper()
	step := `
        steps:
        - name: s
          image: ` + image + `
          script: "true"
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}`
	spec := `
    tasks:
    - name: gate
      taskSpec:` + step + `
    - name: build
      runAfter: [gate]
      taskSpec:` + step
	doc := `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: release-42, namespace: ` + ns + `, uid: "4242"}
spec:
  pipelineSpec:` + spec + `
status:
  pipelineSpec:` + spec + "\n"
	var pr v1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(doc), &pr); err != nil {
		t.Fatal(err)
	}
	return &pr
}

func TestVerifyPipelineRunFromCluster(t *testing.T) {
	static := clusterPolicy(t, staticPolicy)
	tests := []struct {
		name     string
		cluster  fakeCluster
		args     []string
		wantCode int
		wantText string
	}{
		{"namespace from the context", fakeCluster{namespace: "ci", tekton: []runtime.Object{gatedRun(t, "ci")}, policies: []runtime.Object{static}},
			[]string{"--pipelinerun", "release-42", "--gate-task", "gate"}, 0, ""},
		{"--namespace", fakeCluster{namespace: "other", tekton: []runtime.Object{gatedRun(t, "ci")}, policies: []runtime.Object{static}},
			[]string{"--pipelinerun", "release-42", "--namespace", "ci", "--gate-task", "gate"}, 0, ""},
		{"the gate task is not in the pipeline", fakeCluster{namespace: "ci", tekton: []runtime.Object{gatedRun(t, "ci")}, policies: []runtime.Object{static}},
			[]string{"--pipelinerun", "release-42", "--gate-task", "security-gate"}, 1, gate.CheckGateOrder},
		{"denied namespace", fakeCluster{namespace: "default", tekton: []runtime.Object{gatedRun(t, "default")}, policies: []runtime.Object{static}},
			[]string{"--pipelinerun", "release-42", "--gate-task", "gate"}, 1, gate.CheckNamespace},
		{"run not found", fakeCluster{namespace: "ci", policies: []runtime.Object{static}},
			[]string{"--pipelinerun", "release-42", "--gate-task", "gate"}, 2, "pipelinerun/ci/release-42"},
		{"no namespace", fakeCluster{tekton: []runtime.Object{gatedRun(t, "ci")}, policies: []runtime.Object{static}},
			[]string{"--pipelinerun", "release-42", "--gate-task", "gate"}, 2, "give --namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r, stderr := jsonReportCluster(t, tt.cluster, append([]string{"--policy-name", "static", "--timeout", "30s"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nreport: %+v\nstderr: %s", code, tt.wantCode, r, stderr)
			}
			all, _ := json.Marshal(r)
			if !strings.Contains(string(all), tt.wantText) {
				t.Errorf("report does not mention %q:\n%s", tt.wantText, all)
			}
			if code == 0 && r.Summary.Tasks != 2 {
				t.Errorf("summary %+v: want the 2 tasks of the run verified", r.Summary)
			}
		})
	}
}
