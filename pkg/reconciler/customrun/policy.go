package customrun

import (
	"context"
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

// APIVersion is the apiVersion of the gate's customRef / customSpec.
var APIVersion = v1alpha1.SchemeGroupVersion.String()

// selectPolicy returns the policy run selects, ready for the engine
// (pkg/policyload: read, defaulted, validated), if config-security-gate
// allows that kind. A policy that is missing, invalid or not allowed ends
// the attempt; an API server that did not answer is transient.
func (r *Reconciler) selectPolicy(ctx context.Context, run *v1beta1.CustomRun) (*policyload.Policy, error) {
	cfg := config.FromContextOrDefaults(ctx)
	subject := runSubject(run)
	var (
		p   *policyload.Policy
		err error
	)
	switch {
	case run.Spec.CustomRef != nil:
		ref := run.Spec.CustomRef
		switch {
		case ref.APIVersion != APIVersion:
			return nil, end(ReasonVerificationError, "%s: spec.customRef.apiVersion is %q, want %q", subject, ref.APIVersion, APIVersion)
		case ref.Name == "":
			return nil, end(ReasonVerificationError, "%s: spec.customRef.name is empty; name the %s to apply", subject, ref.Kind)
		case ref.Kind == v1alpha1.KindClusterSecurityGate:
			p, err = policyload.ClusterSecurityGate(ctx, r.Policies, ref.Name, r.SystemNamespace)
		case ref.Kind == v1alpha1.KindSecurityGate && !cfg.AllowNamespacedPolicies:
			return nil, end(ReasonPolicyNotAllowed,
				"%s: spec.customRef.kind SecurityGate is not allowed by %s (%s: \"false\"); reference a ClusterSecurityGate",
				subject, config.Name, config.KeyAllowNamespacedPolicies)
		case ref.Kind == v1alpha1.KindSecurityGate:
			p, err = policyload.SecurityGate(ctx, r.Policies, run.Namespace, ref.Name)
		default:
			return nil, end(ReasonVerificationError, "%s: spec.customRef.kind is %q, want %s or %s",
				subject, ref.Kind, v1alpha1.KindClusterSecurityGate, v1alpha1.KindSecurityGate)
		}
	case run.Spec.CustomSpec != nil:
		cs := run.Spec.CustomSpec
		switch {
		case !cfg.AllowInlinePolicies:
			return nil, end(ReasonPolicyNotAllowed,
				"%s: an inline policy (spec.customSpec) is not allowed by %s (%s: \"false\"); reference a ClusterSecurityGate",
				subject, config.Name, config.KeyAllowInlinePolicies)
		case cs.APIVersion != APIVersion || (cs.Kind != v1alpha1.KindSecurityGate && cs.Kind != v1alpha1.KindClusterSecurityGate):
			return nil, end(ReasonVerificationError, "%s: spec.customSpec is %s %s, want apiVersion %q and kind SecurityGate or ClusterSecurityGate",
				subject, cs.APIVersion, cs.Kind, APIVersion)
		}
		p, err = policyload.Inline(ctx, cs.Kind, cs.Spec.Raw)
	default:
		return nil, end(ReasonVerificationError, "%s: neither spec.customRef nor spec.customSpec is set", subject)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	return p, nil
}
