package customrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

// APIVersion is the apiVersion of the gate's customRef / customSpec.
var APIVersion = v1alpha1.SchemeGroupVersion.String()

// PolicyGetter reads policies. The controller backs it with the API server;
// tests with a map.
type PolicyGetter interface {
	ClusterSecurityGate(ctx context.Context, name string) (*v1alpha1.ClusterSecurityGate, error)
	SecurityGate(ctx context.Context, namespace, name string) (*v1alpha1.SecurityGate, error)
}

// policy is the policy one run is judged by.
type policy struct {
	// Name is kind/name or kind/namespace/name, or "inline customSpec".
	Name string
	// Spec is defaulted and validated.
	Spec *v1alpha1.SecurityGateSpec
	// SecretNamespace is where key.secretRef Secrets are read: the
	// controller's namespace for a ClusterSecurityGate, the policy's own for
	// a SecurityGate; empty for an inline policy, which may not use them.
	SecretNamespace string
}

// policyError is why no policy could be used.
type policyError struct {
	Reason    string // ReasonPolicyNotAllowed or ReasonVerificationError
	Message   string
	Transient bool // an API error: retry until the timeout
}

func (e *policyError) Error() string { return e.Message }

func permanent(reason, format string, args ...any) *policyError {
	return &policyError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// selectPolicy returns the policy run selects, if config allows that kind.
func (r *Reconciler) selectPolicy(ctx context.Context, run *v1beta1.CustomRun) (*policy, *policyError) {
	cfg := config.FromContextOrDefaults(ctx)
	subject := runSubject(run)
	switch {
	case run.Spec.CustomRef != nil:
		ref := run.Spec.CustomRef
		if ref.APIVersion != APIVersion {
			return nil, permanent(ReasonVerificationError, "%s: spec.customRef.apiVersion is %q, want %q", subject, ref.APIVersion, APIVersion)
		}
		if ref.Name == "" {
			return nil, permanent(ReasonVerificationError, "%s: spec.customRef.name is empty; name the %s to apply", subject, ref.Kind)
		}
		switch ref.Kind {
		case v1alpha1.KindClusterSecurityGate:
			g, err := r.Policies.ClusterSecurityGate(ctx, ref.Name)
			if err != nil {
				return nil, getError(err, "%s: ClusterSecurityGate %q", subject, ref.Name)
			}
			return validated("ClusterSecurityGate/"+g.Name, g.Spec, r.SystemNamespace)
		case v1alpha1.KindSecurityGate:
			if !cfg.AllowNamespacedPolicies {
				return nil, permanent(ReasonPolicyNotAllowed,
					"%s: spec.customRef.kind SecurityGate is not allowed by %s (%s: \"false\"); reference a ClusterSecurityGate",
					subject, config.Name, config.KeyAllowNamespacedPolicies)
			}
			g, err := r.Policies.SecurityGate(ctx, run.Namespace, ref.Name)
			if err != nil {
				return nil, getError(err, "%s: SecurityGate %q in namespace %q", subject, ref.Name, run.Namespace)
			}
			return validated("SecurityGate/"+g.Namespace+"/"+g.Name, g.Spec, g.Namespace)
		}
		return nil, permanent(ReasonVerificationError, "%s: spec.customRef.kind is %q, want %s or %s",
			subject, ref.Kind, v1alpha1.KindClusterSecurityGate, v1alpha1.KindSecurityGate)
	case run.Spec.CustomSpec != nil:
		if !cfg.AllowInlinePolicies {
			return nil, permanent(ReasonPolicyNotAllowed,
				"%s: an inline policy (spec.customSpec) is not allowed by %s (%s: \"false\"); reference a ClusterSecurityGate",
				subject, config.Name, config.KeyAllowInlinePolicies)
		}
		cs := run.Spec.CustomSpec
		if cs.APIVersion != APIVersion || (cs.Kind != v1alpha1.KindSecurityGate && cs.Kind != v1alpha1.KindClusterSecurityGate) {
			return nil, permanent(ReasonVerificationError, "%s: spec.customSpec is %s %s, want apiVersion %q and kind SecurityGate or ClusterSecurityGate",
				subject, cs.APIVersion, cs.Kind, APIVersion)
		}
		var spec v1alpha1.SecurityGateSpec
		dec := json.NewDecoder(bytes.NewReader(cs.Spec.Raw))
		dec.DisallowUnknownFields()
		if len(cs.Spec.Raw) == 0 {
			return nil, permanent(ReasonVerificationError, "%s: spec.customSpec.spec is empty; an inline policy needs a spec", subject)
		}
		if err := dec.Decode(&spec); err != nil {
			return nil, permanent(ReasonVerificationError, "%s: spec.customSpec.spec is not a valid policy spec: %v", subject, err)
		}
		p, perr := validated("inline customSpec", spec, "")
		if perr != nil {
			return nil, perr
		}
		if fe := p.Spec.ValidateNoSecretRefs(); fe != nil {
			return nil, permanent(ReasonVerificationError,
				"%s: inline policy: %v (an inline policy has no namespace whose Secrets it may read; use a ClusterSecurityGate)", subject, fe)
		}
		return p, nil
	}
	return nil, permanent(ReasonVerificationError, "%s: neither spec.customRef nor spec.customSpec is set", subject)
}

func validated(name string, spec v1alpha1.SecurityGateSpec, secretNS string) (*policy, *policyError) {
	s := spec.DeepCopy()
	ctx := context.Background()
	s.SetDefaults(ctx)
	if fe := s.Validate(ctx); fe != nil {
		return nil, permanent(ReasonVerificationError, "%s is invalid: %v", name, fe.ViaField("spec"))
	}
	return &policy{Name: name, Spec: s, SecretNamespace: secretNS}, nil
}

func getError(err error, format string, args ...any) *policyError {
	what := fmt.Sprintf(format, args...)
	if apierrors.IsNotFound(err) || errors.Is(err, errNotFound) {
		return permanent(ReasonVerificationError, "%s not found", what)
	}
	return &policyError{Reason: ReasonVerificationError, Message: fmt.Sprintf("reading %s: %v", what, err), Transient: true}
}

// errNotFound lets a PolicyGetter say "not found" without an API error.
var errNotFound = errors.New("not found")
