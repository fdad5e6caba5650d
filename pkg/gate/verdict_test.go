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
