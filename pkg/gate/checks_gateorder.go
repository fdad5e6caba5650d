package gate

import (
	"slices"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// Kinds and API group of the gate's custom task.
const (
	gateAPIGroup        = "securitygate.dev"
	gateKind            = "SecurityGate"
	clusterGateKind     = "ClusterSecurityGate"
	gateAPIVersionAlpha = gateAPIGroup + "/v1alpha1"
)

func isGateKind(apiVersion, kind string) bool {
	if kind != gateKind && kind != clusterGateKind {
		return false
	}
	return apiVersion == "" || apiVersion == gateAPIVersionAlpha || strings.HasPrefix(apiVersion, gateAPIGroup+"/")
}

// isGateTask: the pipeline task is the gate — a custom task of
// securitygate.dev (taskRef or embedded customSpec), or the task
// Options.GateTask names (the catalog Task, --gate-task).
func (r *run) isGateTask(pt v1.PipelineTask) bool {
	if r.e.opts.GateTask != "" && pt.Name == r.e.opts.GateTask {
		return true
	}
	if pt.TaskRef != nil && isGateKind(pt.TaskRef.APIVersion, string(pt.TaskRef.Kind)) {
		return true
	}
	return pt.TaskSpec != nil && isGateKind(pt.TaskSpec.APIVersion, pt.TaskSpec.Kind)
}

// checkGateOrder reports what lets work run without the gate having
// succeeded, on the pipeline after parameter substitution:
//   - a task (not finally) that is not downstream of a gate through runAfter
//     or result references (params, when, matrix), transitively, including
//     the tasks the gate itself waits for;
//   - `when` expressions on a gate: a skipped gate lets tasks that only
//     runAfter it run;
//   - onError: continue on a gate: a failed gate lets dependents run;
//   - a gate placed in finally, which runs after everything;
//   - every finally task, as a warning: finally tasks run even when the
//     gate fails.
//
// A pipeline without a gate is not checked, unless Options.RequireGate.
// Mode Warn reports everything as warnings; Off skips the check.
func (r *run) checkGateOrder(base Subject, spec *v1.PipelineSpec) {
	mode := r.gateOrder()
	if mode == v1alpha1.GateOrderOff {
		return
	}
	sev := SeverityViolation
	if mode == v1alpha1.GateOrderWarn {
		sev = SeverityWarning
	}
	var gates []string
	isGate := map[string]bool{}
	for _, pt := range spec.Tasks {
		if r.isGateTask(pt) {
			gates = append(gates, pt.Name)
			isGate[pt.Name] = true
		}
	}
	var finallyGates []string
	for _, pt := range spec.Finally {
		if r.isGateTask(pt) {
			finallyGates = append(finallyGates, pt.Name)
			isGate[pt.Name] = true
		}
	}
	if len(gates) == 0 && len(finallyGates) == 0 {
		if r.e.opts.RequireGate {
			r.finding(sev, CheckGateOrder, "", base, "pipeline has no security gate task: want a pipeline task with taskRef apiVersion %s, kind %s or %s", gateAPIVersionAlpha, gateKind, clusterGateKind)
		}
		return
	}
	subject := base.WithTask
	for _, name := range finallyGates {
		r.finding(sev, CheckGateOrder, name, subject(name), "gate %q is a finally task: it runs after every other task, so nothing waits for it; want it in tasks, with every other task downstream of it", name)
	}
	for _, pt := range spec.Tasks {
		if !isGate[pt.Name] {
			continue
		}
		if len(pt.When) > 0 {
			r.finding(sev, CheckGateOrder, pt.Name, subject(pt.Name), "gate %q has when expressions: when they are false the gate is skipped and tasks that only runAfter it still run; want no when on the gate", pt.Name)
		}
		if pt.OnError == v1.PipelineTaskContinue {
			r.finding(sev, CheckGateOrder, pt.Name, subject(pt.Name), "gate %q has onError: continue: a failed gate lets the tasks after it run; want onError unset or stopAndFail", pt.Name)
		}
	}
	downstream := downstreamOf(spec.Tasks, gates)
	sort.Strings(gates)
	gateList := strings.Join(quoteAll(gates), ", ")
	for _, pt := range spec.Tasks {
		if isGate[pt.Name] || downstream[pt.Name] {
			continue
		}
		if len(gates) == 0 {
			r.finding(sev, CheckGateOrder, pt.Name, subject(pt.Name), "task %q runs before the gate has succeeded: the gate is a finally task", pt.Name)
			continue
		}
		r.finding(sev, CheckGateOrder, pt.Name, subject(pt.Name),
			"task %q is not downstream of the gate %s: it can run before the gate has succeeded; want runAfter: [%s] (or a result reference to the gate) on it or on a task it depends on",
			pt.Name, gateList, gates[0])
	}
	for _, pt := range spec.Finally {
		if isGate[pt.Name] || guardedByGate(pt, gates) {
			continue
		}
		r.warning(CheckGateOrder, pt.Name, subject(pt.Name),
			"finally task %q runs even when the gate %s fails; want when: [{input: \"$(tasks.%s.status)\", operator: in, values: [\"Succeeded\"]}] on it",
			pt.Name, gateList, gateOrFirst(gates))
	}
}

// guardedByGate reports whether a finally task runs only once a gate has
// succeeded: one of its when expressions is `$(tasks.<gate>.status) in
// [Succeeded]`, or `$(tasks.status) in [Succeeded]` (every DAG task, the
// gate among them, succeeded). Tekton skips the task otherwise, also when
// the run was cancelled or stopped before the gate ran.
func guardedByGate(pt v1.PipelineTask, gates []string) bool {
	for _, w := range pt.When {
		if w.Operator != selection.In || len(w.Values) == 0 || w.CEL != "" {
			continue
		}
		if slices.ContainsFunc(w.Values, func(v string) bool { return v != v1.TaskRunReasonSuccessful.String() }) {
			continue
		}
		if w.Input == "$(tasks.status)" {
			return true
		}
		for _, g := range gates {
			if w.Input == "$(tasks."+g+".status)" {
				return true
			}
		}
	}
	return false
}

func gateOrFirst(gates []string) string {
	if len(gates) == 0 {
		return "<gate>"
	}
	return gates[0]
}

// downstreamOf returns the tasks that depend on one of roots, directly or
// transitively, through runAfter or result references (Tekton's own Deps).
func downstreamOf(tasks []v1.PipelineTask, roots []string) map[string]bool {
	children := map[string][]string{}
	for _, pt := range tasks {
		for _, d := range pt.Deps() {
			children[d] = append(children[d], pt.Name)
		}
	}
	out := map[string]bool{}
	queue := append([]string{}, roots...)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range children[n] {
			if !out[c] {
				out[c] = true
				queue = append(queue, c)
			}
		}
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = `"` + s + `"`
	}
	return out
}
