package policyload

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/client/clientset/versioned"
	"github.com/security-gate/security-gate/pkg/transient"
)

// Getter reads policies by name. The controller backs it with its informer
// caches, the CLI with a clientset (Clientset). Errors are the API's
// (apierrors.IsNotFound works on them).
type Getter interface {
	ClusterSecurityGate(ctx context.Context, name string) (*v1alpha1.ClusterSecurityGate, error)
	SecurityGate(ctx context.Context, namespace, name string) (*v1alpha1.SecurityGate, error)
}

// Clientset is a Getter that asks the API server on every read.
type Clientset struct{ Client versioned.Interface }

var _ Getter = Clientset{}

func (c Clientset) ClusterSecurityGate(ctx context.Context, name string) (*v1alpha1.ClusterSecurityGate, error) {
	return c.Client.SecuritygateV1alpha1().ClusterSecurityGates().Get(ctx, name, metav1.GetOptions{})
}

func (c Clientset) SecurityGate(ctx context.Context, namespace, name string) (*v1alpha1.SecurityGate, error) {
	return c.Client.SecuritygateV1alpha1().SecurityGates(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Policy is a policy ready for a verification.
type Policy struct {
	// Policy holds the kind, the object's metadata (empty for an inline
	// policy) and the spec, defaulted and valid.
	v1alpha1.Policy
	// Inline: a CustomRun's customSpec, which has no name a verification
	// summary could cite and no namespace whose Secrets it may read.
	Inline bool
	// SecretNamespace is the one namespace whose Secrets key.secretRefs are
	// read from: the controller's for a ClusterSecurityGate, the policy's
	// own for a SecurityGate; empty: none (an inline policy, a file).
	SecretNamespace string
}

// String names the policy in messages: kind/name, kind/namespace/name, or
// "inline customSpec".
func (p *Policy) String() string {
	if p.Inline {
		return InlineName
	}
	return p.Policy.String()
}

// InlineName is how messages name an inline policy.
const InlineName = "inline customSpec"

// ClusterSecurityGate reads the ClusterSecurityGate name and readies it; its
// key.secretRefs are read in secretNamespace (the controller's).
func ClusterSecurityGate(ctx context.Context, g Getter, name, secretNamespace string) (*Policy, error) {
	what := fmt.Sprintf("%s %q", v1alpha1.KindClusterSecurityGate, name)
	obj, err := g.ClusterSecurityGate(ctx, name)
	if err != nil {
		return nil, getError(what, "clustersecuritygates", err)
	}
	return ready(ctx, v1alpha1.KindClusterSecurityGate, obj.ObjectMeta, &obj.Spec, secretNamespace)
}

// SecurityGate reads the SecurityGate namespace/name and readies it; its
// key.secretRefs are read in its own namespace.
func SecurityGate(ctx context.Context, g Getter, namespace, name string) (*Policy, error) {
	what := fmt.Sprintf("%s %q in namespace %q", v1alpha1.KindSecurityGate, name, namespace)
	obj, err := g.SecurityGate(ctx, namespace, name)
	if err != nil {
		return nil, getError(what, "securitygates", err)
	}
	return ready(ctx, v1alpha1.KindSecurityGate, obj.ObjectMeta, &obj.Spec, obj.Namespace)
}

// Inline readies an inline policy of kind from its spec as a CustomRun
// carries it (JSON), read strictly. It may not use key.secretRef.
func Inline(ctx context.Context, kind string, spec []byte) (*Policy, error) {
	s, err := v1alpha1.DecodeSpec(ctx, InlineName, spec)
	if err != nil {
		return nil, err
	}
	var refs *apis.FieldError
	for i, a := range s.Authorities {
		if a.Key != nil && a.Key.SecretRef != nil {
			refs = refs.Also(apis.ErrGeneric("an inline policy has no namespace whose Secrets it may read: put the PEM public keys in key.data, or use a ClusterSecurityGate",
				"key.secretRef").ViaFieldIndex("authorities", i))
		}
	}
	if refs != nil {
		return nil, &v1alpha1.InvalidPolicyError{Policy: InlineName, Fields: refs.ViaField("spec")}
	}
	return &Policy{Policy: v1alpha1.Policy{Kind: kind, Spec: *s}, Inline: true}, nil
}

func ready(ctx context.Context, kind string, meta metav1.ObjectMeta, spec *v1alpha1.SecurityGateSpec, secretNamespace string) (*Policy, error) {
	p := &Policy{Policy: v1alpha1.Policy{Kind: kind, ObjectMeta: *meta.DeepCopy()}, SecretNamespace: secretNamespace}
	s, err := v1alpha1.DefaultAndValidate(ctx, p.String(), spec)
	if err != nil {
		return nil, err
	}
	p.Spec = *s
	return p, nil
}

// getError says why a policy could not be read: a missing or forbidden
// policy stays so until someone changes the cluster; anything else from the
// API server is transient.
func getError(what, resource string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found", what)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("reading %s is forbidden: the service account needs get on %s.securitygate.dev: %w", what, resource, err)
	}
	return fmt.Errorf("reading %s: %w", what, transient.API(err))
}

// SecretKeys returns the reader of p's key.secretRefs: a GET of the Secret
// in p.SecretNamespace, never another namespace (the caller needs get, not
// list, on Secrets there). Nil when p may read none: verify then refuses a
// secretRef. API trouble is transient; a missing Secret or key is not.
func SecretKeys(secrets corev1client.SecretsGetter, p *Policy) func(context.Context, v1alpha1.SecretKeyRef) ([]byte, error) {
	ns := p.SecretNamespace
	if ns == "" || secrets == nil {
		return nil
	}
	return func(ctx context.Context, ref v1alpha1.SecretKeyRef) ([]byte, error) {
		s, err := secrets.Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsForbidden(err):
			return nil, fmt.Errorf("reading secret %s/%s is forbidden: the service account needs get on secrets in namespace %s: %w", ns, ref.Name, ns, err)
		case err != nil:
			return nil, fmt.Errorf("reading secret %s/%s: %w", ns, ref.Name, transient.API(err))
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return nil, fmt.Errorf("secret %s/%s has no key %q", ns, ref.Name, ref.Key)
		}
		return v, nil
	}
}
