package gate_test

import (
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

func TestNamespace(t *testing.T) {
	run := func(ns string) string {
		meta := "metadata: {name: r}"
		if ns != "" {
			meta = "metadata: {name: r, namespace: " + ns + "}"
		}
		return "apiVersion: tekton.dev/v1\nkind: TaskRun\n" + meta + "\nspec: {taskSpec: {steps: [{name: s, image: alpine}]}}\n"
	}
	tests := []struct {
		name    string
		deny    []string // nil: default
		ns      string
		verdict gate.Verdict
		wants   []want
	}{
		{name: "allowed namespace", ns: "ci", verdict: gate.VerdictPass},
		{name: "default denied by default", ns: "default", verdict: gate.VerdictFail,
			wants: []want{v(gate.CheckNamespace, "taskrun/default/r", `namespace "default", which namespaces.deny [default] forbids`)}},
		{name: "empty namespace", ns: "", verdict: gate.VerdictFail,
			wants: []want{v(gate.CheckNamespace, "taskrun/r", "has no metadata.namespace")}},
		{name: "custom deny list", deny: []string{"prod"}, ns: "prod", verdict: gate.VerdictFail,
			wants: []want{v(gate.CheckNamespace, "taskrun/prod/r", `namespaces.deny [prod]`)}},
		{name: "explicit empty deny list allows default", deny: []string{}, ns: "default", verdict: gate.VerdictPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				privileged(s)
				if tt.deny != nil {
					s.Namespaces = &v1alpha1.NamespacePolicy{Deny: tt.deny}
				}
			})
			expect(t, verify(t, s, run(tt.ns), gate.Options{}), tt.verdict, tt.wants...)
		})
	}
}
