package v1alpha1

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   SecurityGateSpec
		want SecurityGateSpec
	}{{
		name: "empty spec gets every default",
		in:   SecurityGateSpec{},
		want: SecurityGateSpec{
			Mode:            ModeEnforce,
			GateOrder:       GateOrderEnforce,
			Namespaces:      &NamespacePolicy{Deny: []string{"default"}},
			SecurityContext: &SecurityContextPolicy{Level: LevelRestricted},
		},
	}, {
		name: "set values are kept",
		in: SecurityGateSpec{
			Mode:            ModeWarn,
			GateOrder:       GateOrderOff,
			Namespaces:      &NamespacePolicy{Deny: []string{"kube-system"}},
			SecurityContext: &SecurityContextPolicy{Level: LevelBaseline},
		},
		want: SecurityGateSpec{
			Mode:            ModeWarn,
			GateOrder:       GateOrderOff,
			Namespaces:      &NamespacePolicy{Deny: []string{"kube-system"}},
			SecurityContext: &SecurityContextPolicy{Level: LevelBaseline},
		},
	}, {
		name: "explicit empty deny list denies nothing",
		in:   SecurityGateSpec{Namespaces: &NamespacePolicy{Deny: []string{}}},
		want: SecurityGateSpec{
			Mode:            ModeEnforce,
			GateOrder:       GateOrderEnforce,
			Namespaces:      &NamespacePolicy{Deny: []string{}},
			SecurityContext: &SecurityContextPolicy{Level: LevelRestricted},
		},
	}, {
		name: "namespaces without deny and securityContext without level",
		in:   SecurityGateSpec{Namespaces: &NamespacePolicy{}, SecurityContext: &SecurityContextPolicy{}},
		want: SecurityGateSpec{
			Mode:            ModeEnforce,
			GateOrder:       GateOrderEnforce,
			Namespaces:      &NamespacePolicy{Deny: []string{"default"}},
			SecurityContext: &SecurityContextPolicy{Level: LevelRestricted},
		},
	}, {
		name: "vulnerabilities deny defaults and known severities are upper-cased",
		in: SecurityGateSpec{Attestations: []AttestationPolicy{
			{Name: "a", Type: "vuln", Vulnerabilities: &VulnerabilityPolicy{}},
			{Name: "b", Type: "vuln", Vulnerabilities: &VulnerabilityPolicy{Deny: []string{"critical", " Medium ", "bogus"}}},
			{Name: "c", Type: "slsaprovenance"},
		}},
		want: SecurityGateSpec{
			Mode:            ModeEnforce,
			GateOrder:       GateOrderEnforce,
			Namespaces:      &NamespacePolicy{Deny: []string{"default"}},
			SecurityContext: &SecurityContextPolicy{Level: LevelRestricted},
			Attestations: []AttestationPolicy{
				{Name: "a", Type: "vuln", Vulnerabilities: &VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}}},
				{Name: "b", Type: "vuln", Vulnerabilities: &VulnerabilityPolicy{Deny: []string{"CRITICAL", "MEDIUM", "bogus"}}},
				{Name: "c", Type: "slsaprovenance"},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.DeepCopy()
			got.SetDefaults(context.Background())
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("SetDefaults (-want +got):\n%s", d)
			}
			again := got.DeepCopy()
			again.SetDefaults(context.Background())
			if d := cmp.Diff(got, again); d != "" {
				t.Errorf("SetDefaults is not idempotent (-first +second):\n%s", d)
			}
		})
	}
}

func TestSetDefaultsOnKinds(t *testing.T) {
	sg := &SecurityGate{}
	sg.SetDefaults(context.Background())
	csg := &ClusterSecurityGate{}
	csg.SetDefaults(context.Background())
	for name, s := range map[string]SecurityGateSpec{"SecurityGate": sg.Spec, "ClusterSecurityGate": csg.Spec} {
		if s.Mode != ModeEnforce || s.GateOrder != GateOrderEnforce || s.SecurityContext.Level != LevelRestricted {
			t.Errorf("%s: spec not defaulted: %+v", name, s)
		}
	}
}

func TestDefaultsDoNotAliasPackageSlices(t *testing.T) {
	s := &SecurityGateSpec{Attestations: []AttestationPolicy{{Name: "v", Type: "vuln", Vulnerabilities: &VulnerabilityPolicy{}}}}
	s.SetDefaults(context.Background())
	s.Namespaces.Deny[0] = "changed"
	s.Attestations[0].Vulnerabilities.Deny[0] = "changed"
	if DefaultDenyNamespaces[0] != "default" || DefaultDenySeverities[0] != "CRITICAL" {
		t.Fatalf("defaults share storage with the package variables: %v %v", DefaultDenyNamespaces, DefaultDenySeverities)
	}
}
