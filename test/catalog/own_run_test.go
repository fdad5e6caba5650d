package catalog

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"
)

// TestTaskVerifiesItsOwnRun renders the latest catalog Task's step the way
// Tekton v1.15 and the kubelet would for a TaskRun of PipelineRun
// release-43, with what a pipeline author can add through the PipelineRun's
// taskRunSpecs, and checks that the arguments still name this run: the
// TaskRun itself (--taskrun) or its PipelineRun (--pipelinerun), in its own
// namespace. An author who could point the gate at release-42, an older run
// that passed, would get a pass for a run that was never verified.
func TestTaskVerifiesItsOwnRun(t *testing.T) {
	const (
		ns, prName, ptName = "ci", "release-43", "gate"
		oldRun             = "release-42"
	)
	for _, tc := range []struct {
		name   string
		labels map[string]string // taskRunSpecs[].metadata.labels
		env    []corev1.EnvVar   // taskRunSpecs[].podTemplate.env
	}{
		{name: "no overrides"},
		{name: "labels through taskRunSpecs", labels: map[string]string{
			pipeline.PipelineRunLabelKey: oldRun, pipeline.PipelineTaskLabelKey: "build",
		}},
		{name: "env through podTemplate", env: []corev1.EnvVar{
			{Name: "PIPELINERUN", Value: oldRun}, {Name: "NAMESPACE", Value: "elsewhere"},
			{Name: "PIPELINE_TASK", Value: "build"}, {Name: "TASKRUN", Value: oldRun + "-gate"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := loadTask(t, latest(t))
			pr := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: prName, Namespace: ns, UID: "uid-43"}}
			tr := &v1.TaskRun{
				ObjectMeta: metav1.ObjectMeta{
					Name:            kmeta.ChildName(prName, "-"+ptName),
					Namespace:       ns,
					UID:             "uid-43-gate",
					OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(pr)},
					Labels:          taskRunLabels(tc.labels, prName, ptName),
				},
				Spec: v1.TaskRunSpec{
					Params: v1.Params{{Name: "policy", Value: *v1.NewStructuredValues("strict")}},
				},
			}
			// Tekton's own substitution of params and context variables.
			spec := tresources.ApplyParameters(task.Spec.DeepCopy(), tr, task.Spec.Params...)
			spec = tresources.ApplyContexts(spec, task.Name, tr)
			podLabels := map[string]string{}
			for k, v := range tr.Labels {
				podLabels[k] = v
			}
			podLabels[pipeline.TaskRunLabelKey] = tr.Name
			for _, step := range spec.Steps {
				args := kubeletArgs(t, step, tc.env, podLabels, ns)
				run, runNS := runIdentity(args)
				want := map[string]string{"--taskrun": tr.Name, "--pipelinerun": prName}
				if run[0] == "" || run[1] != want[run[0]] {
					t.Errorf("step %q verifies %s=%q; want --taskrun=%q or --pipelinerun=%q (args %q)",
						step.Name, run[0], run[1], tr.Name, prName, args)
				}
				if runNS != ns {
					t.Errorf("step %q verifies a run in namespace %q; want %q (args %q)", step.Name, runNS, ns, args)
				}
			}
		})
	}
}

// taskRunLabels are the labels Tekton's PipelineRun reconciler gives the
// TaskRun: taskRunSpecs[].metadata.labels first, then its own only where a
// key is not set yet (combineTaskRunAndTaskSpecLabels and
// addMetadataByPrecedence in pkg/reconciler/pipelinerun of v1.15).
func taskRunLabels(fromSpec map[string]string, prName, ptName string) map[string]string {
	labels := map[string]string{}
	for k, v := range fromSpec {
		labels[k] = v
	}
	for k, v := range map[string]string{pipeline.PipelineRunLabelKey: prName, pipeline.PipelineTaskLabelKey: ptName} {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	return labels
}

// kubeletArgs returns the step's arguments as its process sees them: the
// environment is the step's env with the pod template's appended after it
// (pkg/pod of v1.15), the later of two entries with one name wins, field
// references read the pod's labels and namespace, and $(NAME) expands.
func kubeletArgs(t *testing.T, step v1.Step, podEnv []corev1.EnvVar, podLabels map[string]string, ns string) []string {
	t.Helper()
	env := map[string]string{}
	for _, e := range append(append([]corev1.EnvVar{}, step.Env...), podEnv...) {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = fieldValue(t, e.ValueFrom.FieldRef.FieldPath, podLabels, ns)
		default:
			t.Fatalf("step %q env %s: a value source this test does not model", step.Name, e.Name)
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	var args []string
	for _, a := range append(append([]string{}, step.Command...), step.Args...) {
		args = append(args, ref.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := env[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		}))
	}
	return args
}

func fieldValue(t *testing.T, path string, labels map[string]string, ns string) string {
	t.Helper()
	if path == "metadata.namespace" {
		return ns
	}
	if m := regexp.MustCompile(`^metadata\.labels\['([^']+)'\]$`).FindStringSubmatch(path); m != nil {
		return labels[m[1]]
	}
	t.Fatalf("field path %q is not modelled by this test", path)
	return ""
}

// runIdentity returns which flag names the run (--taskrun or
// --pipelinerun) with its value, and --namespace.
func runIdentity(args []string) (run [2]string, ns string) {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, value, _ := strings.Cut(a, "=")
		switch name {
		case "--taskrun", "--pipelinerun":
			run = [2]string{name, value}
		case "--namespace":
			ns = value
		}
	}
	return run, ns
}
