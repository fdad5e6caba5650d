package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

func TestGateOrder(t *testing.T) {
	pipeline := func(tasks, finally string) string {
		return `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
` + tasks + `
  finally:
` + finally + `
`
	}
	const step = `taskSpec: {results: [{name: r}], steps: [{name: s, image: alpine}]}`
	const gateRef = `taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}`
	sub := func(task string) string { return "pipeline/p task=" + task }
	tests := []struct {
		name     string
		mode     v1alpha1.GateOrderMode
		gateTask string
		require  bool
		tasks    string
		finally  string
		verdict  gate.Verdict
		wants    []want
	}{{
		name:    "runAfter the gate passes",
		tasks:   "  - {name: gate, " + gateRef + "}\n  - {name: a, runAfter: [gate], " + step + "}",
		finally: "    []", verdict: gate.VerdictPass,
	}, {
		name:    "transitively downstream through a result reference passes",
		tasks:   "  - {name: gate, " + gateRef + "}\n  - {name: a, runAfter: [gate], " + step + "}\n  - {name: b, params: [{name: x, value: $(tasks.a.results.r)}], " + step + "}\n  - {name: c, when: [{input: $(tasks.b.results.r), operator: in, values: [x]}], " + step + "}",
		finally: "    []", verdict: gate.VerdictPass,
	}, {
		name:    "a task beside the gate",
		tasks:   "  - {name: gate, " + gateRef + "}\n  - {name: a, " + step + "}",
		finally: "    []", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, sub("a"), `task "a" is not downstream of the gate "gate"`)},
	}, {
		name:    "a task the gate waits for is not downstream",
		tasks:   "  - {name: clone, " + step + "}\n  - {name: gate, runAfter: [clone], " + gateRef + "}",
		finally: "    []", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, sub("clone"), `task "clone" is not downstream`)},
	}, {
		name:    "when on the gate",
		tasks:   "  - {name: gate, when: [{input: a, operator: in, values: [a]}], " + gateRef + "}\n  - {name: a, runAfter: [gate], " + step + "}",
		finally: "    []", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, sub("gate"), "has when expressions")},
	}, {
		name:    "onError continue on the gate",
		tasks:   "  - {name: gate, onError: continue, " + gateRef + "}\n  - {name: a, runAfter: [gate], " + step + "}",
		finally: "    []", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, sub("gate"), "onError: continue")},
	}, {
		name:    "finally tasks are warnings",
		tasks:   "  - {name: gate, " + gateRef + "}",
		finally: "  - {name: notify, " + step + "}", verdict: gate.VerdictWarn,
		wants: []want{w(gate.CheckGateOrder, sub("notify"), `finally task "notify" runs even when the gate "gate" fails`)},
	}, {
		name:    "a finally task guarded by the gate's status passes",
		tasks:   "  - {name: gate, " + gateRef + "}",
		finally: "  - {name: notify, when: [{input: \"$(tasks.gate.status)\", operator: in, values: [Succeeded]}], " + step + "}", verdict: gate.VerdictPass,
	}, {
		name:    "a finally task guarded by every task's status passes",
		tasks:   "  - {name: gate, " + gateRef + "}",
		finally: "  - {name: notify, when: [{input: \"$(tasks.status)\", operator: in, values: [Succeeded]}], " + step + "}", verdict: gate.VerdictPass,
	}, {
		name:    "a guard that also admits Failed is no guard",
		tasks:   "  - {name: gate, " + gateRef + "}",
		finally: "  - {name: notify, when: [{input: \"$(tasks.gate.status)\", operator: in, values: [Succeeded, Failed]}], " + step + "}", verdict: gate.VerdictWarn,
		wants: []want{w(gate.CheckGateOrder, sub("notify"), `runs even when the gate "gate" fails`)},
	}, {
		name:    "notin Succeeded is no guard",
		tasks:   "  - {name: gate, " + gateRef + "}",
		finally: "  - {name: notify, when: [{input: \"$(tasks.gate.status)\", operator: notin, values: [Succeeded]}], " + step + "}", verdict: gate.VerdictWarn,
		wants: []want{w(gate.CheckGateOrder, sub("notify"), `runs even when the gate "gate" fails`)},
	}, {
		name:    "another task's status is no guard",
		tasks:   "  - {name: gate, " + gateRef + "}\n  - {name: a, runAfter: [gate], " + step + "}",
		finally: "  - {name: notify, when: [{input: \"$(tasks.a.status)\", operator: in, values: [Succeeded]}], " + step + "}", verdict: gate.VerdictWarn,
		wants: []want{w(gate.CheckGateOrder, sub("notify"), `runs even when the gate "gate" fails`)},
	}, {
		name:    "gate in finally",
		tasks:   "  - {name: a, " + step + "}",
		finally: "  - {name: gate, " + gateRef + "}", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, sub("gate"), "is a finally task"), v(gate.CheckGateOrder, sub("a"), "runs before the gate has succeeded")},
	}, {
		name: "mode Warn", mode: v1alpha1.GateOrderWarn,
		tasks:   "  - {name: gate, " + gateRef + "}\n  - {name: a, " + step + "}",
		finally: "    []", verdict: gate.VerdictWarn,
		wants: []want{w(gate.CheckGateOrder, sub("a"), "not downstream")},
	}, {
		name: "mode Off", mode: v1alpha1.GateOrderOff,
		tasks:   "  - {name: gate, onError: continue, " + gateRef + "}\n  - {name: a, " + step + "}",
		finally: "  - {name: notify, " + step + "}", verdict: gate.VerdictPass,
	}, {
		name:    "no gate: not checked",
		tasks:   "  - {name: a, " + step + "}",
		finally: "    []", verdict: gate.VerdictPass,
	}, {
		name: "no gate with RequireGate", require: true,
		tasks:   "  - {name: a, " + step + "}",
		finally: "    []", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, "pipeline/p", "has no security gate task")},
	}, {
		name: "gate named by GateTask (catalog Task)", gateTask: "verify",
		tasks:   "  - {name: verify, " + step + "}\n  - {name: a, " + step + "}",
		finally: "    []", verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckGateOrder, sub("a"), `not downstream of the gate "verify"`)},
	}, {
		name:    "SecurityGate kind and embedded customSpec are gates",
		tasks:   "  - {name: g1, taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: SecurityGate, name: x}}\n  - {name: g2, taskSpec: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, spec: {}}}\n  - {name: a, runAfter: [g2], " + step + "}",
		finally: "    []", verdict: gate.VerdictPass,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				privileged(s)
				s.GateOrder = tt.mode
			})
			rep := verify(t, s, pipeline(tt.tasks, tt.finally), gate.Options{GateTask: tt.gateTask, RequireGate: tt.require})
			expect(t, rep, tt.verdict, tt.wants...)
		})
	}
}
