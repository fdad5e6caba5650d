package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	fakepipeline "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	fakeresolution "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned/fake"
	presources "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	tresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	fakekube "k8s.io/client-go/kubernetes/fake"
	ktesting "k8s.io/client-go/testing"
	"knative.dev/pkg/kmeta"
	"sigs.k8s.io/yaml"

	fakesg "github.com/security-gate/security-gate/pkg/client/clientset/versioned/fake"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/results"
)

// latestCatalogTask is the catalog Task version that runs --taskrun.
var latestCatalogTask = filepath.Join("..", "..", "tasks", "security-gate", "0.2", "security-gate.yaml")

// restrictedStep is a step that passes the restricted level; privileged
// breaks it.
func restrictedStep(privileged bool) string {
	sc := `{runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}`
	if privileged {
		sc = `{privileged: true}`
	}
	return `
        steps:
        - name: s
          image: registry.example.com/tools/lint@sha256:2222222222222222222222222222222222222222222222222222222222222222
          script: "true"
          securityContext: ` + sc
}

// ownedRun is a PipelineRun as Tekton leaves it when the gate's TaskRun
// runs: status.pipelineSpec set. tasks is the YAML of spec.tasks.
func ownedRun(t *testing.T, ns, name, uid, tasks string) *v1.PipelineRun {
	t.Helper()
	doc := `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: ` + name + `, namespace: ` + ns + `, uid: "` + uid + `"}
spec:
  pipelineSpec:
    tasks:` + tasks + `
status:
  pipelineSpec:
    tasks:` + tasks + "\n"
	var pr v1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(doc), &pr); err != nil {
		t.Fatal(err)
	}
	return &pr
}

// gatedTasks: the gate (the catalog Task, embedded here) first, build after
// it; build privileged or not.
func gatedTasks(privileged bool) string {
	return `
    - name: gate
      taskSpec:` + restrictedStep(false) + `
    - name: build
      runAfter: [gate]
      taskSpec:` + restrictedStep(privileged)
}

// childTaskRun is the TaskRun Tekton creates for pipeline task ptName of pr,
// with extra labels as a pipeline author sets them through taskRunSpecs.
func childTaskRun(pr *v1.PipelineRun, ptName string, labels map[string]string) *v1.TaskRun {
	l := map[string]string{}
	for k, v := range labels {
		l[k] = v
	}
	for k, v := range map[string]string{pipeline.PipelineRunLabelKey: pr.Name, pipeline.PipelineTaskLabelKey: ptName} {
		if _, ok := l[k]; !ok {
			l[k] = v
		}
	}
	return &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{
		Name: kmeta.ChildName(pr.Name, "-"+ptName), Namespace: pr.Namespace, UID: pr.UID + "-" + types.UID(ptName),
		Labels:          l,
		OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(pr)},
	}}
}

// clearTrustEnv empties, for this test, the variables --taskrun refuses,
// so that the caller's environment cannot decide the outcome.
func clearTrustEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		bad := false
		for _, n := range trustEnv {
			bad = bad || name == n
		}
		for _, p := range trustEnvPrefixes {
			bad = bad || strings.HasPrefix(name, p)
		}
		if bad {
			t.Setenv(name, "")
		}
	}
}

func TestVerifyTaskRun(t *testing.T) {
	clearTrustEnv(t)
	static := clusterPolicy(t, staticPolicy)
	const ns = "ci"
	// release-42 passed long ago; release-43 runs a privileged build.
	old := ownedRun(t, ns, "release-42", "uid-42", gatedTasks(false))
	current := ownedRun(t, ns, "release-43", "uid-43", gatedTasks(true))
	// release-44 was deleted and re-created: the TaskRun names the old uid.
	recreated := ownedRun(t, ns, "release-44", "uid-44-new", gatedTasks(false))
	stale := childTaskRun(recreated, "gate", nil)
	stale.OwnerReferences[0].UID = "uid-44-old"
	// release-45: a task that does not wait for the gate.
	beside := ownedRun(t, ns, "release-45", "uid-45", `
    - name: gate
      taskSpec:`+restrictedStep(false)+`
    - name: exfiltrate
      taskSpec:`+restrictedStep(false))
	orphan := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: ns,
		Labels: map[string]string{pipeline.PipelineRunLabelKey: "release-42", pipeline.PipelineTaskLabelKey: "gate"}}}
	notAController := childTaskRun(old, "gate", nil)
	notAController.Name = "not-a-controller"
	notAController.OwnerReferences[0].Controller = nil
	notATask := childTaskRun(current, "gate", nil)
	notATask.Name = "release-43-unknown"

	// The pipeline author labels release-43's gate as release-42's, and
	// as a gate of another task.
	spoofed := childTaskRun(current, "gate", map[string]string{
		pipeline.PipelineRunLabelKey: "release-42", pipeline.PipelineRunUIDLabelKey: "uid-42", pipeline.PipelineTaskLabelKey: "build",
	})
	cluster := fakeCluster{
		tekton: []runtime.Object{old, current, recreated, beside,
			childTaskRun(old, "gate", nil), spoofed, stale, childTaskRun(beside, "gate", nil),
			orphan, notAController, notATask},
		policies: []runtime.Object{static},
	}
	tests := []struct {
		name      string
		taskRun   string
		wantCode  int
		wantCheck string // a finding with this check id
		wantText  string // in the report
	}{
		{name: "its own compliant run", taskRun: "release-42-gate", wantCode: 0},
		{name: "labels naming an older compliant run are ignored", taskRun: "release-43-gate", wantCode: 1,
			wantCheck: gate.CheckSecurityContext, wantText: "release-43"},
		{name: "the gate task is the TaskRun's", taskRun: "release-45-gate", wantCode: 1,
			wantCheck: gate.CheckGateOrder, wantText: "exfiltrate"},
		{name: "not part of a PipelineRun", taskRun: "orphan", wantCode: 2,
			wantCheck: gate.CheckInput, wantText: "is not controlled by a PipelineRun"},
		{name: "owner reference is not the controller", taskRun: "not-a-controller", wantCode: 2,
			wantCheck: gate.CheckInput, wantText: "is not controlled by a PipelineRun"},
		{name: "PipelineRun re-created under the same name", taskRun: "release-44-gate", wantCode: 2,
			wantCheck: gate.CheckInput, wantText: "uid uid-44-old"},
		{name: "no pipeline task runs this TaskRun", taskRun: "release-43-unknown", wantCode: 2,
			wantCheck: gate.CheckInput, wantText: `whose TaskRun is "release-43-unknown"`},
		{name: "TaskRun not found", taskRun: "missing", wantCode: 2,
			wantCheck: gate.CheckInput, wantText: "TaskRun ci/missing not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r, stderr := jsonReportCluster(t, cluster, "--policy-name", "static", "--taskrun", tt.taskRun, "--namespace", ns)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %+v\n%s", code, tt.wantCode, r, stderr)
			}
			if tt.wantCheck == "" {
				return
			}
			all := append(append([]gate.Finding{}, r.Violations...), r.Errors...)
			found := false
			for _, f := range all {
				found = found || f.Check == tt.wantCheck && strings.Contains(f.Subject.String()+" "+f.Message, tt.wantText)
			}
			if !found {
				t.Errorf("no %s finding mentioning %q: %+v", tt.wantCheck, tt.wantText, all)
			}
		})
	}
}

func TestVerifyTaskRunFlags(t *testing.T) {
	clearTrustEnv(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"with --gate-task", []string{"--taskrun", "x", "--gate-task", "build"}, "--gate-task cannot be combined with --taskrun"},
		{"with --pipelinerun", []string{"--taskrun", "x", "--pipelinerun", "y"}, "--taskrun and --pipelinerun are alternatives"},
		{"with -f", []string{"--taskrun", "x", "-f", "run.yaml"}, "cannot be combined with -f"},
		{"empty", []string{"--taskrun="}, "--taskrun is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cliCluster(t, fakeCluster{}, nil, append([]string{"verify", "--policy-name", "static"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestVerifyTaskRunEnvironment: the step's environment is partly the
// pipeline author's (podTemplate.env wins over the Task's env), so a
// variable that changes what the CLI trusts makes it refuse to decide.
func TestVerifyTaskRunEnvironment(t *testing.T) {
	static := clusterPolicy(t, staticPolicy)
	pr := ownedRun(t, "ci", "release-42", "uid-42", gatedTasks(false))
	cluster := fakeCluster{tekton: []runtime.Object{pr, childTaskRun(pr, "gate", nil)}, policies: []runtime.Object{static}}
	for _, tt := range []struct {
		name, env, value string
		extra            []string
		wantCode         int
	}{
		{name: "clean", wantCode: 0},
		{name: "KUBECONFIG", env: "KUBECONFIG", value: "/proc/self/environ", wantCode: 2},
		{name: "KUBECONFIG with --kubeconfig", env: "KUBECONFIG", value: "/elsewhere", extra: []string{"--kubeconfig", "/given"}, wantCode: 0},
		{name: "SSL_CERT_FILE", env: "SSL_CERT_FILE", value: "/proc/self/environ", wantCode: 2},
		{name: "COSIGN_REPOSITORY", env: "COSIGN_REPOSITORY", value: "registry.example.com/old-signatures", wantCode: 2},
		{name: "empty value", env: "SSL_CERT_FILE", value: "", wantCode: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clearTrustEnv(t)
			if tt.env != "" {
				t.Setenv(tt.env, tt.value)
			}
			args := append([]string{"--policy-name", "static", "--taskrun", "release-42-gate", "--namespace", "ci"}, tt.extra...)
			code, r, stderr := jsonReportCluster(t, cluster, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %+v\n%s", code, tt.wantCode, r, stderr)
			}
			if code == 2 && !strings.Contains(fmt.Sprint(r.Errors), "environment variable "+tt.env+" is set") {
				t.Errorf("errors do not name %s: %+v", tt.env, r.Errors)
			}
		})
	}
}

// TestVerifyTaskRunWaitsForPipelineSpec: Tekton records status.pipelineSpec
// in the reconcile that creates the TaskRun, so the step may read the run
// before it is there: it waits, bounded, and never passes without it.
func TestVerifyTaskRunWaitsForPipelineSpec(t *testing.T) {
	clearTrustEnv(t)
	wait, interval := ownRunWait, ownRunInterval
	t.Cleanup(func() { ownRunWait, ownRunInterval = wait, interval })
	ownRunInterval = time.Millisecond
	static := clusterPolicy(t, staticPolicy)
	pr := ownedRun(t, "ci", "release-42", "uid-42", gatedTasks(false))
	tr := childTaskRun(pr, "gate", nil)
	for _, tt := range []struct {
		name string
		// pending is how many reads of the PipelineRun find no
		// status.pipelineSpec; -1: every read.
		pending  int
		wait     time.Duration
		wantCode int
	}{
		{name: "recorded after two reads", pending: 2, wait: time.Minute, wantCode: 0},
		{name: "never recorded", pending: -1, wait: 20 * time.Millisecond, wantCode: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ownRunWait = tt.wait
			reads := 0
			connect := func(string) (*clusterConn, error) {
				tekton := fakepipeline.NewSimpleClientset(pr, tr)
				tekton.PrependReactor("get", "pipelineruns", func(ktesting.Action) (bool, runtime.Object, error) {
					reads++
					if tt.pending < 0 || reads <= tt.pending {
						c := pr.DeepCopy()
						c.Status.PipelineSpec = nil
						return true, c, nil
					}
					return false, nil, nil
				})
				return &clusterConn{
					tekton:   &pipelinerunresolver.Clients{Tekton: tekton, Resolution: fakeresolution.NewSimpleClientset()},
					policies: fakesg.NewSimpleClientset(static),
					secrets:  fakekube.NewSimpleClientset().CoreV1(),
				}, nil
			}
			var out, errOut bytes.Buffer
			code := runWith([]string{"verify", "--policy-name", "static", "--taskrun", tr.Name, "--namespace", "ci"},
				strings.NewReader(""), &out, &errOut, env{connect: connect})
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.wantCode, out.String(), errOut.String())
			}
			if tt.wantCode == 2 && !strings.Contains(out.String(), "has not finished resolving the run") {
				t.Errorf("the report does not say Tekton has not resolved the run:\n%s", out.String())
			}
		})
	}
}

// TestCatalogTaskArgsTaskRun runs the CLI with the latest catalog Task's
// arguments as Tekton substitutes them (its own ApplyParameters and
// ApplyContexts) for the TaskRun in the fake cluster: the Task and the CLI
// agree on every flag, and the run verified is the TaskRun's.
func TestCatalogTaskArgsTaskRun(t *testing.T) {
	clearTrustEnv(t)
	static := clusterPolicy(t, staticPolicy)
	old := ownedRun(t, "ci", "release-42", "uid-42", gatedTasks(false))
	current := ownedRun(t, "ci", "release-43", "uid-43", gatedTasks(true))
	spoofed := childTaskRun(current, "gate", map[string]string{pipeline.PipelineRunLabelKey: "release-42"})
	cluster := fakeCluster{tekton: []runtime.Object{old, current, childTaskRun(old, "gate", nil), spoofed}, policies: []runtime.Object{static}}
	data, err := os.ReadFile(latestCatalogTask)
	if err != nil {
		t.Fatal(err)
	}
	var task v1.Task
	if err := yaml.UnmarshalStrict(data, &task); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		tr          *v1.TaskRun
		wantCode    int
		wantVerdict string
	}{
		{"compliant run", childTaskRun(old, "gate", nil), 0, "pass"},
		{"labelled as the compliant run", spoofed, 1, "fail"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.tr.DeepCopy()
			tr.Spec.Params = v1.Params{{Name: "policy", Value: *v1.NewStructuredValues("static")}}
			spec := tresources.ApplyParameters(task.Spec.DeepCopy(), tr, task.Spec.Params...)
			spec = tresources.ApplyContexts(spec, task.Name, tr)
			if len(spec.Steps) != 1 {
				t.Fatalf("the catalog Task has %d steps, want 1", len(spec.Steps))
			}
			dir := t.TempDir()
			var args []string
			for _, a := range spec.Steps[0].Args {
				if strings.Contains(a, "$(") {
					t.Fatalf("argument %q is left unexpanded by Tekton: the step would depend on its environment", a)
				}
				args = append(args, strings.ReplaceAll(a, "/tekton/results", dir))
			}
			code, stdout, stderr := cliCluster(t, cluster, nil, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nargs %q\nstdout: %s\nstderr: %s", code, tt.wantCode, args, stdout, stderr)
			}
			if got := readResults(t, dir)[results.Verdict]; got != tt.wantVerdict {
				t.Errorf("verdict result %q, want %q", got, tt.wantVerdict)
			}
		})
	}
}

// TestTaskRunNameIsTektons holds taskRunName to Tekton's GetTaskRunName,
// which the CLI does not link (it sits in a reconciler package).
func TestTaskRunNameIsTektons(t *testing.T) {
	children := []v1.ChildStatusReference{
		{TypeMeta: runtime.TypeMeta{Kind: pipeline.TaskRunControllerName}, Name: "recorded-build", PipelineTaskName: "build"},
		{TypeMeta: runtime.TypeMeta{Kind: pipeline.CustomRunControllerName}, Name: "recorded-gate", PipelineTaskName: "gate"},
	}
	long := strings.Repeat("x", 70)
	for _, tc := range []struct{ task, run string }{
		{"build", "release-1"}, {"gate", "release-1"}, {"test", "release-1"}, {"test", long}, {long, "r"},
	} {
		got := taskRunName(children, tc.task, tc.run)
		if want := presources.GetTaskRunName(children, tc.task, tc.run); got != want {
			t.Errorf("taskRunName(%q, %q) = %q, Tekton's GetTaskRunName = %q", tc.task, tc.run, got, want)
		}
	}
}
