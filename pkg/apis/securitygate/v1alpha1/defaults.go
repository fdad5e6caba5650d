package v1alpha1

import (
	"context"
	"strings"

	"knative.dev/pkg/apis"
)

var (
	_ apis.Defaultable = (*SecurityGate)(nil)
	_ apis.Defaultable = (*ClusterSecurityGate)(nil)
)

// DefaultDenyNamespaces is spec.namespaces.deny when it is not set: runs in
// the default namespace are rejected, since that is where unreviewed work
// tends to land.
var DefaultDenyNamespaces = []string{"default"}

// DefaultDenySeverities is spec.attestations[].vulnerabilities.deny when a
// vulnerabilities block is present but names no severity: a block that denies
// nothing would silently pass every scan.
var DefaultDenySeverities = []string{"CRITICAL", "HIGH"}

// SetDefaults fills in the defaults of the SecurityGate's spec.
func (g *SecurityGate) SetDefaults(ctx context.Context) { g.Spec.SetDefaults(ctx) }

// SetDefaults fills in the defaults of the ClusterSecurityGate's spec.
func (g *ClusterSecurityGate) SetDefaults(ctx context.Context) { g.Spec.SetDefaults(ctx) }

// SetDefaults fills in every unset field that has a default:
//
//   - mode: Enforce
//   - gateOrder: Enforce
//   - namespaces.deny: [default] when namespaces or deny is absent (an
//     explicit empty list `deny: []` denies nothing)
//   - securityContext.level: restricted, also when securityContext is absent
//     (set level: privileged to switch the check off)
//   - attestations[].vulnerabilities.deny: [CRITICAL, HIGH] when absent;
//     severities are upper-cased so consumers compare them directly
//
// It is idempotent and never overwrites a value that is set.
func (s *SecurityGateSpec) SetDefaults(context.Context) {
	if s.Mode == "" {
		s.Mode = ModeEnforce
	}
	if s.GateOrder == "" {
		s.GateOrder = GateOrderEnforce
	}
	if s.Namespaces == nil {
		s.Namespaces = &NamespacePolicy{}
	}
	if s.Namespaces.Deny == nil {
		s.Namespaces.Deny = append([]string(nil), DefaultDenyNamespaces...)
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &SecurityContextPolicy{}
	}
	if s.SecurityContext.Level == "" {
		s.SecurityContext.Level = LevelRestricted
	}
	s.Provenance.setDefaults()
	for i := range s.Attestations {
		v := s.Attestations[i].Vulnerabilities
		if v == nil {
			continue
		}
		if v.Deny == nil {
			v.Deny = append([]string(nil), DefaultDenySeverities...)
		}
		for j, sev := range v.Deny {
			// Only known severities are normalised, so validation still
			// reports an unknown one as the author wrote it.
			if up := strings.ToUpper(strings.TrimSpace(sev)); isSeverity(up) {
				v.Deny[j] = up
			}
		}
	}
}
