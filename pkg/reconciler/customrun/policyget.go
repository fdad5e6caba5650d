package customrun

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"knative.dev/pkg/injection/clients/dynamicclient"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// apiPolicyGetter reads policies with a GET per run through the dynamic
// client: a gate run is rare next to the informer traffic a watch costs,
// and a GET never answers from a stale cache. (When the generated typed
// clients and informers land, a lister-backed getter can replace it.)
type apiPolicyGetter struct {
	client dynamic.Interface
}

// NewAPIPolicyGetter returns a PolicyGetter backed by the injected dynamic client.
func NewAPIPolicyGetter(ctx context.Context) PolicyGetter {
	return &apiPolicyGetter{client: dynamicclient.Get(ctx)}
}

func (g *apiPolicyGetter) ClusterSecurityGate(ctx context.Context, name string) (*v1alpha1.ClusterSecurityGate, error) {
	u, err := g.client.Resource(v1alpha1.SchemeGroupVersion.WithResource("clustersecuritygates")).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	out := &v1alpha1.ClusterSecurityGate{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		return nil, fmt.Errorf("decoding ClusterSecurityGate %q: %w", name, err)
	}
	return out, nil
}

func (g *apiPolicyGetter) SecurityGate(ctx context.Context, ns, name string) (*v1alpha1.SecurityGate, error) {
	u, err := g.client.Resource(v1alpha1.SchemeGroupVersion.WithResource("securitygates")).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	out := &v1alpha1.SecurityGate{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		return nil, fmt.Errorf("decoding SecurityGate %s/%s: %w", ns, name, err)
	}
	return out, nil
}
