//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/examples"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/e2e/framework"
)

// scenario is one PipelineRun of examples/ and what must come of it.
type scenario struct {
	title string
	file  string // the PipelineRun, in examples/
	check func(*outcome) []string
	// vars, when set, are the placeholders to render file with (instead of
	// what publish made), and name the PipelineRun's name.
	vars func() map[string]string
	name string
}

// outcome is what the demo observed for one PipelineRun.
type outcome struct {
	file     string
	gate     *v1beta1.CustomRun
	pr       *pipelinev1.PipelineRun
	taskRuns []taskRunOutcome
	played   []string // Pods the demo marked Succeeded (no kubelet)
}

type taskRunOutcome struct {
	tr     *pipelinev1.TaskRun
	images []string // its Pod's step images
}

// report is the gate's `report` result, restated rather than decoded with
// results.CompactReport so that a renamed field breaks the demo, as it would
// break a reader of the result.
type report struct {
	Verdict    gate.Verdict   `json:"verdict"`
	Violations []gate.Finding `json:"violations"`
	Errors     []gate.Finding `json:"errors"`
	Warnings   []gate.Finding `json:"warnings"`
	Omitted    int            `json:"omitted"`
	Note       string         `json:"note"`
}

func scenarios() []scenario {
	return []scenario{
		{
			title: "run 1: the compliant PipelineRun (examples/pipelinerun.yaml)",
			file:  "pipelinerun.yaml",
			check: func(o *outcome) []string {
				p := expectGate(o, corev1.ConditionTrue, "Passed", gate.VerdictPass)
				if c := o.pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsTrue() {
					p = append(p, fmt.Sprintf("PipelineRun Succeeded = %v, want True", c))
				}
				verified := o.verified()
				for _, task := range []string{"build", "deploy"} {
					tr := o.taskRun(task)
					if tr == nil {
						p = append(p, fmt.Sprintf("no TaskRun of pipeline task %s, want one after the gate passed", task))
						continue
					}
					for _, im := range tr.images {
						if !slices.Contains(verified, im) {
							p = append(p, fmt.Sprintf("TaskRun %s runs image %s, which is not in the gate's verified-images", tr.tr.Name, im))
						}
					}
				}
				if d := o.taskRun("deploy"); d != nil {
					if got := paramOf(d.tr, "verified-images"); !slices.Equal(got, verified) {
						p = append(p, fmt.Sprintf("TaskRun %s param verified-images = %q, want the gate's result %q", d.tr.Name, got, verified))
					}
				}
				p = append(p, expectSummaries(context.Background(), o, imageOf(verified, "/demo/app@"))...) // vexvsa.go
				return p
			},
		},
		{
			title: "run 2: the non-compliant PipelineRun (examples/noncompliant/pipelinerun.yaml)",
			file:  "noncompliant/pipelinerun.yaml",
			check: func(o *outcome) []string {
				p := expectGate(o, corev1.ConditionFalse, "PolicyViolation", gate.VerdictFail)
				rep := o.report()
				// Exactly the reasons examples/noncompliant/tasks.yaml states.
				want := []string{gate.CheckAttestation, gate.CheckBundleSignature, gate.CheckImageDigest, gate.CheckImageSignature, gate.CheckSecurityContext}
				var got []string
				if rep != nil {
					for _, f := range rep.Violations {
						if !slices.Contains(got, f.Check) {
							got = append(got, f.Check)
						}
					}
				}
				sort.Strings(got)
				if !slices.Equal(got, want) {
					p = append(p, fmt.Sprintf("the gate's report has violations of checks %v, want exactly %v", got, want))
				}
				if c := o.pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsFalse() {
					p = append(p, fmt.Sprintf("PipelineRun Succeeded = %v, want False", c))
				}
				for _, tr := range o.taskRuns {
					p = append(p, fmt.Sprintf("TaskRun %s exists, want none after the gate failed", tr.tr.Name))
				}
				return p
			},
		},
		vexScenario(), // vexvsa.go
	}
}

func expectGate(o *outcome, status corev1.ConditionStatus, reason string, verdict gate.Verdict) []string {
	var p []string
	c := o.gate.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil || c.Status != status || c.Reason != reason {
		p = append(p, fmt.Sprintf("gate CustomRun %s Succeeded = %v, want %s/%s", o.gate.Name, c, status, reason))
	}
	if got := result(o.gate, "verdict"); got != string(verdict) {
		p = append(p, fmt.Sprintf("gate result verdict = %q, want %q", got, verdict))
	}
	return p
}

func result(cr *v1beta1.CustomRun, name string) string {
	for _, r := range cr.Status.Results {
		if r.Name == name {
			return r.Value
		}
	}
	return ""
}

// paramOf returns a TaskRun param's value as a list (one element for a
// string).
func paramOf(tr *pipelinev1.TaskRun, name string) []string {
	for _, p := range tr.Spec.Params {
		if p.Name != name {
			continue
		}
		if p.Value.Type == pipelinev1.ParamTypeArray {
			return p.Value.ArrayVal
		}
		return []string{p.Value.StringVal}
	}
	return nil
}

func (o *outcome) verified() []string {
	var v []string
	_ = json.Unmarshal([]byte(result(o.gate, "verified-images")), &v)
	return v
}

func (o *outcome) report() *report {
	var r report
	if err := json.Unmarshal([]byte(result(o.gate, "report")), &r); err != nil {
		return nil
	}
	return &r
}

func (o *outcome) taskRun(pipelineTask string) *taskRunOutcome {
	for i := range o.taskRuns {
		if o.taskRuns[i].tr.Labels[pipeline.PipelineTaskLabelKey] == pipelineTask {
			return &o.taskRuns[i]
		}
	}
	return nil
}

// bound is how long any one wait may take before the demo calls it a hang.
const bound = 3 * time.Minute

// runScenario creates the PipelineRun and follows it to the end: the gate's
// CustomRun decided, then the PipelineRun done, playing the kubelet for any
// TaskRun Pod Tekton creates.
func runScenario(ctx context.Context, env *framework.Env, pub *published, sc scenario) (*outcome, error) {
	vars := pub.vars
	if sc.vars != nil {
		vars = sc.vars()
	}
	y, err := examples.RenderFile(sc.file, vars)
	if err != nil {
		return nil, err
	}
	var pr pipelinev1.PipelineRun
	if err := yaml.UnmarshalStrict(y, &pr); err != nil {
		return nil, fmt.Errorf("examples/%s: %w", sc.file, err)
	}
	pr.Namespace = demoNamespace
	if sc.name != "" {
		pr.Name = sc.name
	}
	prs := env.Tekton.TektonV1().PipelineRuns(demoNamespace)
	if _, err := prs.Create(ctx, &pr, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create PipelineRun %s/%s: %w", demoNamespace, pr.Name, err)
	}
	say("  PipelineRun %s/%s created", demoNamespace, pr.Name)
	o := &outcome{file: sc.file}

	crs := env.Tekton.TektonV1beta1().CustomRuns(demoNamespace)
	sel := metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + pr.Name}
	if err := poll(ctx, "the gate's CustomRun of PipelineRun "+pr.Name+" to be decided", func(ctx context.Context) (bool, error) {
		l, err := crs.List(ctx, sel)
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		o.gate = &l.Items[0]
		return o.gate.IsDone(), nil
	}); err != nil {
		if o.gate != nil {
			return nil, fmt.Errorf("%w\n  gate CustomRun %s status: %v", err, o.gate.Name, o.gate.Status.GetCondition(apis.ConditionSucceeded))
		}
		return nil, err
	}
	say("  gate CustomRun %s decided", o.gate.Name)

	if err := playUntilDone(ctx, env, pr.Name, o); err != nil {
		return nil, err
	}

	trs, err := env.Tekton.TektonV1().TaskRuns(demoNamespace).List(ctx, sel)
	if err != nil {
		return nil, err
	}
	sort.Slice(trs.Items, func(i, j int) bool { return trs.Items[i].CreationTimestamp.Before(&trs.Items[j].CreationTimestamp) })
	for i := range trs.Items {
		tr := &trs.Items[i]
		t := taskRunOutcome{tr: tr}
		pods, err := env.Kube.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: pipeline.TaskRunLabelKey + "=" + tr.Name})
		if err != nil {
			return nil, err
		}
		for _, pod := range pods.Items {
			for _, c := range pod.Spec.Containers {
				if strings.HasPrefix(c.Name, "step-") {
					t.images = append(t.images, c.Image)
				}
			}
		}
		o.taskRuns = append(o.taskRuns, t)
	}
	return o, nil
}

// playUntilDone waits for the PipelineRun prName to finish, playing the
// kubelet (this control plane has none) for each of its Pods, and records the
// run and the Pods played in o.
func playUntilDone(ctx context.Context, env *framework.Env, prName string, o *outcome) error {
	completed := map[string]bool{}
	return poll(ctx, "PipelineRun "+prName+" to finish", func(ctx context.Context) (bool, error) {
		got, err := env.Tekton.TektonV1().PipelineRuns(demoNamespace).Get(ctx, prName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		o.pr = got
		if got.IsDone() {
			return true, nil
		}
		pods, err := env.Kube.CoreV1().Pods(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + prName})
		if err != nil {
			return false, err
		}
		for _, pod := range pods.Items {
			if completed[pod.Name] || pod.Status.Phase == corev1.PodSucceeded {
				continue
			}
			if err := env.CompletePod(ctx, demoNamespace, pod.Name); err != nil {
				return false, err
			}
			completed[pod.Name] = true
			o.played = append(o.played, pod.Name)
		}
		return false, nil
	})
}

func poll(ctx context.Context, what string, cond wait.ConditionWithContextFunc) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, bound, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err != nil {
		if last != nil {
			return fmt.Errorf("waiting for %s: %v (last error: %v)", what, err, last)
		}
		return fmt.Errorf("waiting for %s: %v", what, err)
	}
	return nil
}

// printOutcome shows what the gate decided and what Tekton did.
func printOutcome(o *outcome) {
	c := o.gate.Status.GetCondition(apis.ConditionSucceeded)
	say("")
	say("  GATE    CustomRun %s -> ClusterSecurityGate %s", o.gate.Name, o.gate.Spec.CustomRef.Name)
	if c != nil {
		say("          Succeeded=%s  reason=%s", c.Status, c.Reason)
		say("          %s", wrap(c.Message, "          "))
	}
	say("          verdict=%s  violations=%s", result(o.gate, "verdict"), result(o.gate, "violations"))
	if v := o.verified(); len(v) > 0 {
		say("          verified-images:")
		for _, im := range v {
			say("            %s", im)
		}
	} else {
		say("          verified-images: (none)")
	}
	rep := o.report()
	switch {
	case rep == nil:
		say("          report: %q (not JSON)", result(o.gate, "report"))
	case len(rep.Violations)+len(rep.Warnings)+len(rep.Errors) == 0:
		say("          findings: none")
	default:
		say("          findings:")
		for _, group := range []struct {
			label string
			fs    []gate.Finding
		}{{"VIOLATION", rep.Violations}, {"ERROR", rep.Errors}, {"WARNING", rep.Warnings}} {
			for _, f := range group.fs {
				say("            %-9s %-17s %s", group.label, f.Check, f.Subject)
				say("                                        %s", wrap(f.Message, "                                        "))
			}
		}
		if rep.Omitted > 0 {
			say("            (%d omitted: %s)", rep.Omitted, rep.Note)
		}
	}

	printNotes(o) // vexvsa.go
	pc := o.pr.Status.GetCondition(apis.ConditionSucceeded)
	say("  TEKTON  PipelineRun %s", o.pr.Name)
	if pc != nil {
		say("          Succeeded=%s  reason=%s", pc.Status, pc.Reason)
		say("          %s", wrap(pc.Message, "          "))
	}
	if len(o.taskRuns) == 0 {
		say("          TaskRuns: none (nothing ran after the gate)")
	}
	for _, t := range o.taskRuns {
		tc := t.tr.Status.GetCondition(apis.ConditionSucceeded)
		status := "Unknown"
		if tc != nil {
			status = fmt.Sprintf("%s/%s", tc.Status, tc.Reason)
		}
		say("          TaskRun %s (pipeline task %s): %s", t.tr.Name, t.tr.Labels[pipeline.PipelineTaskLabelKey], status)
		for _, im := range t.images {
			say("            step image %s", im)
		}
		if v := paramOf(t.tr, "verified-images"); v != nil {
			say("            param verified-images (from the gate's result):")
			for _, im := range v {
				say("              %s", im)
			}
		}
	}
	if len(o.played) > 0 {
		say("          (no kubelet here: the demo marked Pods %s Succeeded)", strings.Join(o.played, ", "))
	}
}

// wrap breaks a long message for an 80-column terminal.
func wrap(s, prefix string) string {
	width := 100 - len(prefix)
	if width < 40 {
		width = 40
	}
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				lines = append(lines, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"+prefix)
}
