package gate_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

// The engine reads the policy as given and keeps no copy of the defaults:
// a spec that was never defaulted is refused as could-not-decide, not read
// as "check nothing" and not silently completed; the same spec defaulted
// is judged by the documented defaults.
func TestVerifyRequiresADefaultedPolicy(t *testing.T) {
	const rootStepInDefault = `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: build, namespace: default}
spec:
  taskSpec:
    steps:
    - name: compile
      image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000
`
	const subject = "taskrun/default/build"
	for _, tc := range []struct {
		name    string
		policy  func() *v1alpha1.SecurityGateSpec
		verdict gate.Verdict
		wants   []want
	}{{
		name:    "no policy",
		policy:  func() *v1alpha1.SecurityGateSpec { return nil },
		verdict: gate.VerdictError,
		wants:   []want{e(gate.CheckPolicy, "policy", "no policy given")},
	}, {
		name:    "empty spec, not defaulted",
		policy:  func() *v1alpha1.SecurityGateSpec { return &v1alpha1.SecurityGateSpec{} },
		verdict: gate.VerdictError,
		wants:   []want{e(gate.CheckPolicy, "policy", "has not had its defaults applied (SetDefaults)")},
	}, {
		name: "defaulted, then a default removed",
		policy: func() *v1alpha1.SecurityGateSpec {
			s := spec(nil)
			s.SecurityContext = nil
			return s
		},
		verdict: gate.VerdictError,
		wants:   []want{e(gate.CheckPolicy, "policy", "has not had its defaults applied")},
	}, {
		name:    "empty spec, defaulted: namespace deny [default] and level restricted",
		policy:  func() *v1alpha1.SecurityGateSpec { return spec(nil) },
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckNamespace, subject, "default"),
			v(gate.CheckSecurityContext, subject+" step=compile", "runAsNonRoot"),
			v(gate.CheckSecurityContext, subject+" step=compile", "seccompProfile"),
			v(gate.CheckSecurityContext, subject+" step=compile", "capabilities"),
			v(gate.CheckSecurityContext, subject+" step=compile", "allowPrivilegeEscalation"),
		},
	}, {
		name: "defaulted, with the defaults switched off explicitly",
		policy: func() *v1alpha1.SecurityGateSpec {
			return spec(func(s *v1alpha1.SecurityGateSpec) {
				s.Namespaces = &v1alpha1.NamespacePolicy{Deny: []string{}}
				privileged(s)
			})
		},
		verdict: gate.VerdictPass,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy()
			before := p.DeepCopy()
			rep := verify(t, p, rootStepInDefault, gate.Options{})
			expect(t, rep, tc.verdict, tc.wants...)
			if d := cmp.Diff(before, p); d != "" {
				t.Errorf("Verify changed the caller's policy (-before +after):\n%s", d)
			}
		})
	}
}
