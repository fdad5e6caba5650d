package customrun

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/client/clientset/versioned"
	sgclient "github.com/security-gate/security-gate/pkg/client/injection/client"
	csginformer "github.com/security-gate/security-gate/pkg/client/injection/informers/securitygate/v1alpha1/clustersecuritygate"
	sginformer "github.com/security-gate/security-gate/pkg/client/injection/informers/securitygate/v1alpha1/securitygate"
	listers "github.com/security-gate/security-gate/pkg/client/listers/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/policyload"
)

// listerPolicyGetter reads policies from the informer caches, and on a
// cache miss once more from the API server: a policy created just before the
// run it governs must not fail that run as "not found" because the watch
// has not delivered it yet. Returned objects are shared with the cache;
// pkg/policyload defaults a copy.
type listerPolicyGetter struct {
	cluster    listers.ClusterSecurityGateLister
	namespaced listers.SecurityGateLister
	client     versioned.Interface
}

// NewListerPolicyGetter returns the controller's policyload.Getter, from
// injection.
func NewListerPolicyGetter(ctx context.Context) policyload.Getter {
	return &listerPolicyGetter{
		cluster:    csginformer.Get(ctx).Lister(),
		namespaced: sginformer.Get(ctx).Lister(),
		client:     sgclient.Get(ctx),
	}
}

func (g *listerPolicyGetter) ClusterSecurityGate(ctx context.Context, name string) (*v1alpha1.ClusterSecurityGate, error) {
	p, err := g.cluster.Get(name)
	if apierrors.IsNotFound(err) {
		return g.client.SecuritygateV1alpha1().ClusterSecurityGates().Get(ctx, name, metav1.GetOptions{})
	}
	return p, err
}

func (g *listerPolicyGetter) SecurityGate(ctx context.Context, ns, name string) (*v1alpha1.SecurityGate, error) {
	p, err := g.namespaced.SecurityGates(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return g.client.SecuritygateV1alpha1().SecurityGates(ns).Get(ctx, name, metav1.GetOptions{})
	}
	return p, err
}
