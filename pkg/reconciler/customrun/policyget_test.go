package customrun

import (
	"testing"

	ttesting "github.com/tektoncd/pipeline/pkg/reconciler/testing"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	fakesgclient "github.com/security-gate/security-gate/pkg/client/injection/client/fake"
	fakecsginformer "github.com/security-gate/security-gate/pkg/client/injection/informers/securitygate/v1alpha1/clustersecuritygate/fake"
	fakesginformer "github.com/security-gate/security-gate/pkg/client/injection/informers/securitygate/v1alpha1/securitygate/fake"
)

func TestListerPolicyGetter(t *testing.T) {
	ctx, _ := ttesting.SetupFakeContext(t)
	cached := &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "cached"}}
	if err := fakecsginformer.Get(ctx).Informer().GetIndexer().Add(cached); err != nil {
		t.Fatal(err)
	}
	team := &v1alpha1.SecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "ci"}}
	if err := fakesginformer.Get(ctx).Informer().GetIndexer().Add(team); err != nil {
		t.Fatal(err)
	}
	// Created after the informer synced: only the API server has it.
	fresh := &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}
	if _, err := fakesgclient.Get(ctx).SecuritygateV1alpha1().ClusterSecurityGates().Create(ctx, fresh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	g := NewListerPolicyGetter(ctx)
	for _, name := range []string{"cached", "fresh"} {
		if p, err := g.ClusterSecurityGate(ctx, name); err != nil || p.Name != name {
			t.Errorf("ClusterSecurityGate(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := g.ClusterSecurityGate(ctx, "absent"); !apierrors.IsNotFound(err) {
		t.Errorf("absent policy: error %v, want NotFound", err)
	}
	if p, err := g.SecurityGate(ctx, "ci", "team"); err != nil || p.Name != "team" {
		t.Errorf("SecurityGate(ci/team) = %v, %v", p, err)
	}
	// A SecurityGate of another namespace is never returned for this one.
	if _, err := g.SecurityGate(ctx, "other", "team"); !apierrors.IsNotFound(err) {
		t.Errorf("SecurityGate(other/team): error %v, want NotFound", err)
	}
}
