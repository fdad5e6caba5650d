package gate_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
)

func TestVerdict(t *testing.T) {
	const tagged = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskSpec: {steps: [{name: s, image: 'alpine:3'}]}}\n"
	const custom = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskRef: {apiVersion: x.dev/v1, kind: X, name: z}}\n"
	digestPolicy := func(mode v1alpha1.Mode) func(*v1alpha1.SecurityGateSpec) {
		return func(s *v1alpha1.SecurityGateSpec) {
			privileged(s)
			s.Mode = mode
			s.Images = &v1alpha1.ImagePolicy{RequireDigest: true}
		}
	}
	tests := []struct {
		name     string
		policy   func(*v1alpha1.SecurityGateSpec)
		in       string
		resolver gate.Resolver
		verdict  gate.Verdict
	}{
		{name: "violation in Enforce fails", policy: digestPolicy(v1alpha1.ModeEnforce), in: tagged, verdict: gate.VerdictFail},
		{name: "violation in Warn warns", policy: digestPolicy(v1alpha1.ModeWarn), in: tagged, verdict: gate.VerdictWarn},
		{name: "warning only", policy: privileged, in: custom, verdict: gate.VerdictWarn},
		{name: "nothing: pass", policy: privileged, in: tagged, verdict: gate.VerdictPass},
		{name: "error alone: error", policy: privileged, in: "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskRef: {name: t}}\n",
			resolver: errResolver{context.Canceled}, verdict: gate.VerdictError},
		{name: "error and Enforce violation: fail", policy: func(s *v1alpha1.SecurityGateSpec) { privileged(s) },
			in:       "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: default}\nspec: {taskRef: {name: t}}\n",
			resolver: errResolver{context.Canceled}, verdict: gate.VerdictFail},
		{name: "error and Warn violation: error", policy: func(s *v1alpha1.SecurityGateSpec) { privileged(s); s.Mode = v1alpha1.ModeWarn },
			in:       "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: default}\nspec: {taskRef: {name: t}}\n",
			resolver: errResolver{context.Canceled}, verdict: gate.VerdictError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := verify(t, spec(tt.policy), tt.in, gate.Options{Resolver: tt.resolver})
			if rep.Verdict != tt.verdict {
				t.Fatalf("verdict = %s, want %s: %+v", rep.Verdict, tt.verdict, rep)
			}
			if rep.Summary.Violations != len(rep.Violations) || rep.Summary.Warnings != len(rep.Warnings) {
				t.Errorf("summary counts %+v do not match the lists", rep.Summary)
			}
		})
	}
}

func TestNilPolicyIsAnError(t *testing.T) {
	rep := gate.New(gate.Options{}).Verify(context.Background(), nil, gate.Input{})
	if rep.Verdict != gate.VerdictError {
		t.Fatalf("verdict = %s", rep.Verdict)
	}
}

// TestDeterministic: the same input in another order gives the same JSON.
func TestDeterministic(t *testing.T) {
	in := objects(t, manyImages+"---\n"+`apiVersion: tekton.dev/v1
kind: Task
metadata: {name: z}
spec: {steps: [{name: s, image: "x:1"}, {name: t, image: "y:1"}]}
`)
	s := spec(func(s *v1alpha1.SecurityGateSpec) { s.Images = &v1alpha1.ImagePolicy{RequireDigest: true} })
	l, _ := local.New(in)
	a := gate.New(gate.Options{Resolver: l}).Verify(context.Background(), s, gate.Input{Objects: in})
	rev := append(in[:0:0], in...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b := gate.New(gate.Options{Resolver: l}).Verify(context.Background(), s, gate.Input{Objects: rev})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("reports differ with input order:\n%s\n%s", ja, jb)
	}
	if len(a.Violations) < 10 {
		t.Fatalf("expected many violations to make ordering meaningful, got %d", len(a.Violations))
	}
}

// TestDecide is the verdict rule every consumer maps: a violation fails
// even beside something undecided; otherwise anything undecided is an
// error; a report that contradicts itself is an error.
func TestDecide(t *testing.T) {
	viol := []gate.Finding{{Check: gate.CheckImageDigest}}
	undecided := []gate.Finding{{Check: gate.CheckRegistry, Transient: true}}
	warn := []gate.Finding{{Check: gate.CheckGateOrder}}
	for _, tc := range []struct {
		name string
		r    *gate.Report
		want gate.Verdict
	}{
		{"nil", nil, gate.VerdictError},
		{"violation and undecided", &gate.Report{Verdict: gate.VerdictFail, Violations: viol, Errors: undecided}, gate.VerdictFail},
		{"violation and undecided, recorded as error", &gate.Report{Verdict: gate.VerdictError, Violations: viol, Errors: undecided}, gate.VerdictFail},
		{"undecided and warnings", &gate.Report{Verdict: gate.VerdictError, Errors: undecided, Warnings: warn}, gate.VerdictError},
		{"warnings", &gate.Report{Verdict: gate.VerdictWarn, Warnings: warn}, gate.VerdictWarn},
		{"nothing", &gate.Report{Verdict: gate.VerdictPass}, gate.VerdictPass},
		{"pass recorded beside a violation", &gate.Report{Verdict: gate.VerdictPass, Violations: viol}, gate.VerdictFail},
		{"fail recorded without a violation", &gate.Report{Verdict: gate.VerdictFail, Warnings: warn}, gate.VerdictError},
		{"error recorded without an error", &gate.Report{Verdict: gate.VerdictError}, gate.VerdictError},
		{"no verdict recorded", &gate.Report{}, gate.VerdictError},
		{"unknown verdict", &gate.Report{Verdict: "ok"}, gate.VerdictError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gate.Decide(tc.r); got != tc.want {
				t.Errorf("Decide = %s, want %s", got, tc.want)
			}
		})
	}
}
