//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/kmeta"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// The latest catalog Task and its RBAC sample (team-a is replaced by the
// test's namespace).
const (
	catalogTaskFile  = "tasks/security-gate/0.2/security-gate.yaml"
	catalogGateTask  = "security-gate"
	catalogStepImage = "/ko-app/security-gate" // the entrypoint ko gives the CLI image
)

// The catalog Task verifies its own run. A pipeline
// author sets, through the PipelineRun's taskRunSpecs, the gate's labels to
// those of an older compliant run and its pod environment to name that run.
// Tekton v1.15 puts both on the gate's Pod (the run's own labels are added
// only where a key is not set, podTemplate.env comes after the step's env);
// the CLI, run with the step's arguments exactly as Tekton wrote them into
// the Pod, still verifies the run the TaskRun belongs to, with the Task's
// own RBAC (samples/rbac.yaml of the latest version).
func TestCatalogTaskVerifiesOwnRun(t *testing.T) {
	bin := buildCLI(t)
	ns := env.Namespace(t)
	key := fixture.NewKey(t)
	policyName := "own-run-" + ns
	createPolicy(t, "", policyName, cliPolicy(key))
	kubeconfig := applyTaskRBAC(t, ns)

	gateImg := pushImage(t, ns+"/security-gate", image{signer: key})
	compiler := pushImage(t, ns+"/compiler", image{signer: key})
	installCatalogTask(t, ns, gateImg.String())

	const oldRun, newRun = "release-old", "release-new"
	attack := []pipelinev1.PipelineTaskRunSpec{{
		PipelineTaskName: catalogGateTask,
		Metadata: &pipelinev1.PipelineTaskMetadata{Labels: map[string]string{
			pipeline.PipelineRunLabelKey: oldRun, pipeline.PipelineTaskLabelKey: catalogGateTask,
		}},
		PodTemplate: &pod.Template{Env: []corev1.EnvVar{
			{Name: "PIPELINERUN", Value: oldRun}, {Name: "PIPELINE_TASK", Value: catalogGateTask},
		}},
	}}
	createCatalogGatedRun(t, ns, oldRun, policyName, cliStep{d: compiler}, nil)
	createCatalogGatedRun(t, ns, newRun, policyName, cliStep{d: compiler, privileged: true}, attack)
	cancelRunsAtEnd(t, ns, oldRun, newRun)

	newPod := gatePod(t, ns, newRun)
	// The precondition that made 0.1 point at the old run: the author's
	// label and env are on the gate's Pod.
	if got := newPod.Labels[pipeline.PipelineRunLabelKey]; got != oldRun {
		t.Fatalf("Pod %s label %s = %q: Tekton no longer lets taskRunSpecs set it (want %q); revisit the catalog Task's threat model",
			newPod.Name, pipeline.PipelineRunLabelKey, got, oldRun)
	}
	if !slices.ContainsFunc(stepContainer(t, newPod).Env, func(e corev1.EnvVar) bool { return e.Name == "PIPELINERUN" && e.Value == oldRun }) {
		t.Fatalf("Pod %s: podTemplate.env PIPELINERUN=%s is not in the step's environment", newPod.Name, oldRun)
	}

	for _, tc := range []struct {
		run      string
		pod      *corev1.Pod
		wantCode int
		wantFail string // a violation's check id
	}{
		{run: oldRun, pod: gatePod(t, ns, oldRun), wantCode: 0},
		{run: newRun, pod: newPod, wantCode: 1, wantFail: "security-context"},
	} {
		t.Run(tc.run, func(t *testing.T) {
			args := podStepArgs(t, tc.pod)
			r := runCLI(t, bin, append([]string{"--kubeconfig", kubeconfig, "-o", "json"}, args...)...)
			diag := "\nargs: " + strings.Join(args, " ") + "\nstdout: " + r.stdout + "\nstderr: " + r.stderr
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d%s", r.code, tc.wantCode, diag)
			}
			if tc.wantFail != "" && !r.has("violations", tc.wantFail, "") {
				t.Errorf("no %s violation: %v%s", tc.wantFail, r.checks("violations"), diag)
			}
			if tc.wantCode == 0 {
				if c := r.checks("errors"); len(c) > 0 {
					t.Errorf("errors %v%s", c, diag)
				}
			}
		})
	}
}

// A run created CancelledRunFinally or StoppedRunFinally
// skips every DAG task, the gate included, and runs its finally tasks at
// once (admission now refuses such a CREATE). A finally task guarded by the
// gate's outcome, when: [$(tasks.gate.status) in [Succeeded]], is skipped
// (the gate's status is None), an unguarded one runs. No controller is
// needed: the gate never starts.
func TestFinallyGuardOnCancelledStart(t *testing.T) {
	for _, status := range []pipelinev1.PipelineRunSpecStatus{
		pipelinev1.PipelineRunSpecStatusCancelledRunFinally, pipelinev1.PipelineRunSpecStatusStoppedRunFinally,
	} {
		t.Run(string(status), func(t *testing.T) {
			ns := env.Namespace(t)
			ctx := context.Background()
			step := pipelinev1.Step{Name: "s", Image: "registry.example.com/tools/notify@sha256:" + strings.Repeat("1", 64), Script: "true", SecurityContext: restrictedSC()}
			task := &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{Steps: []pipelinev1.Step{step}}}
			pr := &pipelinev1.PipelineRun{
				ObjectMeta: metav1.ObjectMeta{Name: "started-" + strings.ToLower(string(status)), Namespace: ns},
				Spec: pipelinev1.PipelineRunSpec{
					Status: status,
					PipelineSpec: &pipelinev1.PipelineSpec{
						Tasks: []pipelinev1.PipelineTask{
							// A kind no controller selects: the gate must not matter here.
							{Name: "gate", TaskRef: &pipelinev1.TaskRef{APIVersion: "e2e.example.com/v1", Kind: "NoController", Name: "strict"}},
							{Name: "build", RunAfter: []string{"gate"}, TaskSpec: task},
						},
						Finally: []pipelinev1.PipelineTask{
							{Name: "guarded", TaskSpec: task, When: pipelinev1.WhenExpressions{{
								Input: "$(tasks.gate.status)", Operator: "in", Values: []string{"Succeeded"},
							}}},
							{Name: "unguarded", TaskSpec: task},
						},
					},
				},
			}
			if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			unguarded := kmeta.ChildName(pr.Name, "-unguarded")
			framework.Eventually(t, 2*time.Minute, "the unguarded finally TaskRun "+unguarded, func(ctx context.Context) (bool, error) {
				_, err := env.Tekton.TektonV1().TaskRuns(ns).Get(ctx, unguarded, metav1.GetOptions{})
				return err == nil, nil
			})
			var got *pipelinev1.PipelineRun
			framework.Eventually(t, 2*time.Minute, "guarded recorded as skipped", func(ctx context.Context) (bool, error) {
				var err error
				got, err = env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, pr.Name, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				return slices.ContainsFunc(got.Status.SkippedTasks, func(s pipelinev1.SkippedTask) bool { return s.Name == "guarded" }), nil
			})
			for _, name := range []string{"guarded", "build"} {
				if _, err := env.Tekton.TektonV1().TaskRuns(ns).Get(ctx, kmeta.ChildName(pr.Name, "-"+name), metav1.GetOptions{}); err == nil {
					t.Errorf("TaskRun of %s exists: it ran without the gate", name)
				}
			}
			if l, err := env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) > 0 {
				t.Errorf("CustomRuns %v (%v): the gate should never have started", l, err)
			}
			t.Logf("skipped tasks: %+v", got.Status.SkippedTasks)
		})
	}
}

// Tekton reads a pending run's Pipeline by name only when
// the run is released, so an edit in between changes what runs after
// admission judged it (admission now refuses a pending run with a by-name
// pipelineRef). Here the Pipeline loses its gate while the run is pending,
// and the released run records and starts the edited pipeline.
func TestPendingRunReadsPipelineOnRelease(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	step := pipelinev1.Step{Name: "s", Image: "registry.example.com/tools/build@sha256:" + strings.Repeat("2", 64), Script: "true", SecurityContext: restrictedSC()}
	task := &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{Steps: []pipelinev1.Step{step}}}
	gated := &pipelinev1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "release", Namespace: ns},
		Spec: pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{
			{Name: "gate", TaskRef: &pipelinev1.TaskRef{APIVersion: "e2e.example.com/v1", Kind: "NoController", Name: "strict"}},
			{Name: "build", RunAfter: []string{"gate"}, TaskSpec: task},
		}},
	}
	p, err := env.Tekton.TektonV1().Pipelines(ns).Create(ctx, gated, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: ns},
		Spec: pipelinev1.PipelineRunSpec{
			Status:      pipelinev1.PipelineRunSpecStatusPending,
			PipelineRef: &pipelinev1.PipelineRef{Name: "release"},
		},
	}
	if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cancelRunsAtEnd(t, ns, pr.Name)
	framework.Eventually(t, time.Minute, "the run marked pending", func(ctx context.Context) (bool, error) {
		got, err := env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, pr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := got.Status.GetCondition("Succeeded")
		return c != nil && c.Reason == pipelinev1.PipelineRunReasonPending.String(), nil
	})
	p.Spec.Tasks = []pipelinev1.PipelineTask{{Name: "build", TaskSpec: task}}
	if _, err := env.Tekton.TektonV1().Pipelines(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Patch(ctx, pr.Name, types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/spec/status"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	build := kmeta.ChildName(pr.Name, "-build")
	framework.Eventually(t, 2*time.Minute, "TaskRun "+build+" of the edited, ungated pipeline", func(ctx context.Context) (bool, error) {
		_, err := env.Tekton.TektonV1().TaskRuns(ns).Get(ctx, build, metav1.GetOptions{})
		return err == nil, nil
	})
	// Tekton creates the TaskRun inside the reconcile and writes the
	// status (status.pipelineSpec included) when that reconcile ends, so the
	// TaskRun can be visible before the recorded spec is.
	var got *pipelinev1.PipelineRun
	framework.Eventually(t, time.Minute, "status.pipelineSpec recorded", func(ctx context.Context) (bool, error) {
		var err error
		got, err = env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, pr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.PipelineSpec != nil, nil
	})
	if len(got.Status.PipelineSpec.Tasks) != 1 || got.Status.PipelineSpec.Tasks[0].Name != "build" {
		t.Fatalf("status.pipelineSpec %+v: want the edited pipeline (build only)", got.Status.PipelineSpec)
	}
}

// installCatalogTask creates the latest catalog Task in ns as a release
// ships it: the ko:// placeholder replaced by an image (and the entrypoint
// ko gives it), everything else as in the file.
func installCatalogTask(t *testing.T, ns, img string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Root, catalogTaskFile))
	if err != nil {
		t.Fatal(err)
	}
	var task pipelinev1.Task
	if err := yaml.UnmarshalStrict(b, &task); err != nil {
		t.Fatal(err)
	}
	for i := range task.Spec.Steps {
		task.Spec.Steps[i].Image = img
		task.Spec.Steps[i].Command = []string{catalogStepImage}
	}
	task.Namespace = ns
	if _, err := env.Tekton.TektonV1().Tasks(ns).Create(context.Background(), &task, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the catalog Task in %s: %v", ns, err)
	}
}

// createCatalogGatedRun: the catalog Task (by name) as the gate, then a
// build with step s after it; trs are the run's taskRunSpecs.
func createCatalogGatedRun(t *testing.T, ns, name, policy string, s cliStep, trs []pipelinev1.PipelineTaskRunSpec) {
	t.Helper()
	sc := restrictedSC()
	if s.privileged {
		sc.Privileged, sc.AllowPrivilegeEscalation = boolPtr(true), boolPtr(true)
	}
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: pipelinev1.PipelineRunSpec{
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: taskSA},
			TaskRunSpecs:    trs,
			PipelineSpec: &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{
				{Name: catalogGateTask, TaskRef: &pipelinev1.TaskRef{Name: "security-gate"},
					Params: pipelinev1.Params{{Name: "policy", Value: *pipelinev1.NewStructuredValues(policy)}}},
				{Name: "build", RunAfter: []string{catalogGateTask}, TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{
					Steps: []pipelinev1.Step{{Name: "compile", Image: s.d.String(), Script: "echo build", SecurityContext: sc}},
				}}},
			}},
		},
	}
	if _, err := env.Tekton.TektonV1().PipelineRuns(ns).Create(context.Background(), pr, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create PipelineRun %s/%s: %v", ns, name, err)
	}
}

func boolPtr(b bool) *bool { return &b }

// gatePod waits for the Pod of run's gate TaskRun (found by the TaskRun
// name Tekton derives, since the run's labels may be the author's) and its
// status.pipelineSpec, and returns the Pod.
func gatePod(t *testing.T, ns, run string) *corev1.Pod {
	t.Helper()
	tr := kmeta.ChildName(run, "-"+catalogGateTask)
	podName := waitPod(t, ns, tr)
	framework.Eventually(t, 2*time.Minute, "status.pipelineSpec of "+run, func(ctx context.Context) (bool, error) {
		pr, err := env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, run, metav1.GetOptions{})
		return err == nil && pr.Status.PipelineSpec != nil, err
	})
	p, err := env.Kube.CoreV1().Pods(ns).Get(context.Background(), podName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func stepContainer(t *testing.T, p *corev1.Pod) corev1.Container {
	t.Helper()
	for _, c := range p.Spec.Containers {
		if c.Name == "step-verify" {
			return c
		}
	}
	t.Fatalf("Pod %s has no container step-verify", p.Name)
	return corev1.Container{}
}

// podStepArgs returns the gate step's arguments as the CLI would receive
// them: what Tekton's entrypoint passes on after "--", with $(NAME)
// expanded from the container's environment as the kubelet does (none are
// expected), and without the flags the test sets itself (--results-dir,
// --output) or the subcommand.
func podStepArgs(t *testing.T, p *corev1.Pod) []string {
	t.Helper()
	c := stepContainer(t, p)
	i := slices.Index(c.Args, "--")
	if i < 0 {
		t.Fatalf("container %s args %q: no \"--\" after Tekton's entrypoint flags", c.Name, c.Args)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	var out []string
	for j, a := range c.Args[i+1:] {
		if j == 0 && a == "verify" {
			continue
		}
		if strings.HasPrefix(a, "--results-dir=") || strings.HasPrefix(a, "--output=") {
			continue
		}
		if ref.MatchString(a) {
			t.Errorf("argument %q depends on the container's environment", a)
			a = ref.ReplaceAllStringFunc(a, func(m string) string { return env[m[2:len(m)-1]] })
		}
		out = append(out, a)
	}
	return out
}
