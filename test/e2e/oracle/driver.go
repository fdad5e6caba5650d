//go:build e2e

package oracle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/e2e/framework"
)

// Driver runs corpus cases on a control plane.
type Driver struct {
	Env *framework.Env
	// Now is the instant written into the Pods the driver completes.
	Now func() time.Time
	// Timeout bounds one run, from its creation to Tekton's verdict: a
	// bound on a hang, not an assertion on speed.
	Timeout time.Duration
}

// Outcome is what happened to one run.
type Outcome struct {
	// Run is "pipelinerun/<ns>/<name>", the gate's subject prefix.
	Run         string
	PipelineRun *v1.PipelineRun
	Gate        *v1beta1.CustomRun
	// Report is the gate's full report (status.extraFields.report).
	Report *gate.Report
	// Pods are the run's Pods as the API server stored them when Tekton
	// created them (before the driver completed them), by name.
	Pods         []*corev1.Pod
	Observations []*PodObservation
}

// pollEvery is how often the driver looks for new Pods and the verdict.
const pollEvery = 200 * time.Millisecond

// Run creates the case's objects (tekton.dev/v1beta1 ones converted as
// Tekton's webhook would) and its PipelineRun, completes every Pod Tekton
// creates with the case's results, and waits for Tekton's verdict. It
// returns an error when the run could not be carried through: the gate did
// not let it proceed, Tekton failed it, or it hung.
func (d *Driver) Run(ctx context.Context, r *Rendered) (*Outcome, error) {
	ns, name := r.PipelineRun.GetNamespace(), r.PipelineRun.GetName()
	out := &Outcome{Run: "pipelinerun/" + ns + "/" + name}
	var objs []*unstructured.Unstructured
	for _, o := range r.Objects {
		if o == r.PipelineRun {
			continue
		}
		c, err := framework.ToTektonV1(ctx, o.DeepCopy())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Path, err)
		}
		objs = append(objs, c)
	}
	pr, err := framework.ToTektonV1(ctx, r.PipelineRun.DeepCopy())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Path, err)
	}
	if len(objs) > 0 {
		if err := d.Env.Apply(ctx, objs); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Path, err)
		}
	}
	// Last, once everything it names exists.
	if err := d.Env.Apply(ctx, []*unstructured.Unstructured{pr}); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Path, err)
	}

	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	seen := map[string]*corev1.Pod{}
	completed := map[string]bool{}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if err := d.completeNewPods(ctx, r, ns, name, seen, completed); err != nil {
			return nil, err
		}
		got, err := d.Env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && got.IsDone() {
			out.PipelineRun = got
			break
		}
		select {
		case <-ctx.Done():
			d.cancel(ns, name)
			return nil, fmt.Errorf("%s: PipelineRun %s/%s not done within %s (%d Pods seen, %d completed): %s",
				r.Path, ns, name, d.Timeout, len(seen), len(completed), d.describe(ns, name))
		case <-tick.C:
		}
	}
	// The last Pods may appear in the same instant the run ends: none
	// should, but keep whatever Tekton made.
	if err := d.completeNewPods(ctx, r, ns, name, seen, completed); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.Pods = append(out.Pods, seen[n])
		o, err := Observe(seen[n], r.Header.Level)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Path, err)
		}
		out.Observations = append(out.Observations, o)
	}
	if out.Gate, out.Report, err = d.gateReport(ctx, ns, name); err != nil {
		return out, fmt.Errorf("%s: %w", r.Path, err)
	}
	if c := out.PipelineRun.Status.GetCondition(apis.ConditionSucceeded); !c.IsTrue() {
		return out, fmt.Errorf("%s: PipelineRun %s/%s ended %s, want Succeeded: the run was not carried through; %s",
			r.Path, ns, name, condText(c), d.describe(ns, name))
	}
	return out, nil
}

// completeNewPods records every Pod of the run not seen before, exactly as
// stored, and completes each one whose TaskRun has its task spec resolved
// (the declared results are read from it).
func (d *Driver) completeNewPods(ctx context.Context, r *Rendered, ns, name string, seen map[string]*corev1.Pod, completed map[string]bool) error {
	pods, err := d.Env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + name})
	if err != nil {
		return nil // transient; the next tick lists again
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if _, ok := seen[p.Name]; !ok {
			seen[p.Name] = p.DeepCopy()
		}
		if completed[p.Name] {
			continue
		}
		tr, err := d.Env.Tekton.TektonV1().TaskRuns(ns).Get(ctx, p.Labels[pipeline.TaskRunLabelKey], metav1.GetOptions{})
		if err != nil || tr.Status.TaskSpec == nil {
			continue
		}
		results, err := resultsFor(r.Header.Results[p.Labels[pipeline.PipelineTaskLabelKey]], tr.Status.TaskSpec.Results)
		if err != nil {
			return fmt.Errorf("%s: pod %s (pipeline task %s): %w", r.Path, p.Name, p.Labels[pipeline.PipelineTaskLabelKey], err)
		}
		if err := d.Env.CompleteBuildPod(ctx, ns, tr.Name, framework.BuildPod{Now: d.Now(), Results: results}, d.Timeout); err != nil {
			return fmt.Errorf("%s: %w", r.Path, err)
		}
		completed[p.Name] = true
	}
	return nil
}

// resultsFor gives every declared result a value: the case's, or one of the
// declared type.
func resultsFor(given map[string]json.RawMessage, declared []v1.TaskResult) ([]framework.TaskResult, error) {
	var out []framework.TaskResult
	for _, res := range declared {
		if v, ok := given[res.Name]; ok {
			text, err := ResultText(v)
			if err != nil {
				return nil, fmt.Errorf("result %s: %w", res.Name, err)
			}
			out = append(out, framework.TaskResult{Name: res.Name, Value: text})
			continue
		}
		var text string
		switch res.Type {
		case v1.ResultsTypeArray:
			text = `["oracle-a","oracle-b"]`
		case v1.ResultsTypeObject:
			o := map[string]string{}
			for k := range res.Properties {
				o[k] = "oracle-" + k
			}
			b, _ := json.Marshal(o)
			text = string(b)
		default:
			text = "oracle-" + res.Name
		}
		out = append(out, framework.TaskResult{Name: res.Name, Value: text})
	}
	for n := range given {
		if !containsResult(declared, n) {
			return nil, fmt.Errorf("oracle.results names result %q, which the task does not declare", n)
		}
	}
	return out, nil
}

func containsResult(rs []v1.TaskResult, name string) bool {
	for _, r := range rs {
		if r.Name == name {
			return true
		}
	}
	return false
}

// gateReport reads the gate's CustomRun of the run and its full report.
func (d *Driver) gateReport(ctx context.Context, ns, name string) (*v1beta1.CustomRun, *gate.Report, error) {
	l, err := d.Env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + name})
	if err != nil {
		return nil, nil, err
	}
	var gates []v1beta1.CustomRun
	for _, cr := range l.Items {
		if ref := cr.Spec.CustomRef; ref != nil && ref.APIVersion == v1alpha1.SchemeGroupVersion.String() {
			gates = append(gates, cr)
		}
	}
	if len(gates) != 1 {
		return nil, nil, fmt.Errorf("PipelineRun %s/%s has %d gate CustomRuns, want exactly 1", ns, name, len(gates))
	}
	cr := &gates[0]
	c := cr.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil || c.IsUnknown() {
		return cr, nil, fmt.Errorf("gate CustomRun %s/%s has no verdict: %v", ns, cr.Name, c)
	}
	var ef struct {
		Report *gate.Report `json:"report"`
	}
	if len(cr.Status.ExtraFields.Raw) == 0 {
		return cr, nil, fmt.Errorf("gate CustomRun %s/%s (%s: %s) has no status.extraFields", ns, cr.Name, c.Reason, c.Message)
	}
	if err := json.Unmarshal(cr.Status.ExtraFields.Raw, &ef); err != nil || ef.Report == nil {
		return cr, nil, fmt.Errorf("gate CustomRun %s/%s: status.extraFields.report unreadable (%v): %s", ns, cr.Name, err, cr.Status.ExtraFields.Raw)
	}
	// What a pipeline consumes is the verified-images result: it must be
	// the report's list, or the oracle would judge a list nobody reads.
	for _, res := range cr.Status.Results {
		if res.Name != "verified-images" {
			continue
		}
		var listed []string
		if err := json.Unmarshal([]byte(res.Value), &listed); err != nil || !slices.Equal(listed, ef.Report.VerifiedImages) {
			return cr, ef.Report, fmt.Errorf("gate CustomRun %s/%s: result verified-images %s is not the report's verifiedImages %v (%v)", ns, cr.Name, res.Value, ef.Report.VerifiedImages, err)
		}
	}
	if !c.IsTrue() {
		return cr, ef.Report, fmt.Errorf("gate CustomRun %s/%s is %s (%s: %s) in Warn mode, so Tekton ran nothing after it; errors: %v",
			ns, cr.Name, c.Status, c.Reason, c.Message, ef.Report.Errors)
	}
	return cr, ef.Report, nil
}

// describe summarises the run's children for an error message.
func (d *Driver) describe(ns, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var parts []string
	sel := metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + name}
	if l, err := d.Env.Tekton.TektonV1().TaskRuns(ns).List(ctx, sel); err == nil {
		for _, tr := range l.Items {
			c := tr.Status.GetCondition(apis.ConditionSucceeded)
			parts = append(parts, fmt.Sprintf("taskrun %s %s", tr.Name, condText(c)))
		}
	}
	if l, err := d.Env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, sel); err == nil {
		for _, cr := range l.Items {
			c := cr.Status.GetCondition(apis.ConditionSucceeded)
			parts = append(parts, fmt.Sprintf("customrun %s %s", cr.Name, condText(c)))
		}
	}
	if pr, err := d.Env.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		c := pr.Status.GetCondition(apis.ConditionSucceeded)
		parts = append(parts, "pipelinerun "+condText(c))
	}
	if len(parts) == 0 {
		return "no children"
	}
	return strings.Join(parts, "; ")
}

// cancel stops Tekton working on a run the driver gave up on.
func (d *Driver) cancel(ns, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = d.Env.Tekton.TektonV1().PipelineRuns(ns).Patch(ctx, name, types.MergePatchType,
		[]byte(`{"spec":{"status":"Cancelled"}}`), metav1.PatchOptions{})
}

// condText is a Succeeded condition as "Status (Reason: message)".
func condText(c *apis.Condition) string {
	if c == nil {
		return "without a Succeeded condition"
	}
	return fmt.Sprintf("%s (%s: %s)", c.Status, c.Reason, c.Message)
}
