package policyload_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakekube "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	fakesg "github.com/security-gate/security-gate/pkg/client/clientset/versioned/fake"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/transient"
)

func failing(verb, resource string, err error) func(*fakesg.Clientset) {
	return func(c *fakesg.Clientset) {
		c.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
	}
}

type loader func(context.Context, policyload.Getter) (*policyload.Policy, error)

func cluster(name, secretNS string) loader {
	return func(ctx context.Context, g policyload.Getter) (*policyload.Policy, error) {
		return policyload.ClusterSecurityGate(ctx, g, name, secretNS)
	}
}

func namespaced(ns, name string) loader {
	return func(ctx context.Context, g policyload.Getter) (*policyload.Policy, error) {
		return policyload.SecurityGate(ctx, g, ns, name)
	}
}

func TestLoadByName(t *testing.T) {
	gr := schema.GroupResource{Group: "securitygate.dev", Resource: "clustersecuritygates"}
	warn := &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "warn"}, Spec: v1alpha1.SecurityGateSpec{Mode: v1alpha1.ModeWarn}}
	bad := &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: v1alpha1.SecurityGateSpec{Mode: "Block",
		Images: &v1alpha1.ImagePolicy{Authorities: []string{"nobody"}}}}
	team := &v1alpha1.SecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "ci"}}
	for _, tc := range []struct {
		name          string
		load          loader
		broken        func(*fakesg.Clientset)
		wantName      string
		wantSecretNS  string
		wantErr       string
		wantTransient bool
		wantPaths     []string // of an *InvalidPolicyError
	}{{
		name:     "ClusterSecurityGate, defaulted",
		load:     cluster("warn", "security-gate"),
		wantName: "ClusterSecurityGate/warn", wantSecretNS: "security-gate",
	}, {
		name:     "SecurityGate reads Secrets in its own namespace",
		load:     namespaced("ci", "team"),
		wantName: "SecurityGate/ci/team", wantSecretNS: "ci",
	}, {
		name:    "not found",
		load:    cluster("strict", ""),
		wantErr: `ClusterSecurityGate "strict" not found`,
	}, {
		name:    "a SecurityGate of another namespace is not found",
		load:    namespaced("other", "team"),
		wantErr: `SecurityGate "team" in namespace "other" not found`,
	}, {
		name:    "forbidden",
		load:    cluster("warn", ""),
		broken:  failing("get", "clustersecuritygates", apierrors.NewForbidden(gr, "warn", errors.New("RBAC"))),
		wantErr: "needs get on clustersecuritygates.securitygate.dev",
	}, {
		name:          "API server unavailable: transient",
		load:          cluster("warn", ""),
		broken:        failing("get", "clustersecuritygates", apierrors.NewServiceUnavailable("etcd timeout")),
		wantErr:       `reading ClusterSecurityGate "warn": etcd timeout`,
		wantTransient: true,
	}, {
		name:      "invalid: every field problem with its path",
		load:      cluster("bad", ""),
		wantErr:   "invalid policy: ClusterSecurityGate/bad:",
		wantPaths: []string{"spec.mode", "spec.images.authorities[0]"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			client := fakesg.NewSimpleClientset(warn.DeepCopy(), bad.DeepCopy(), team.DeepCopy())
			if tc.broken != nil {
				tc.broken(client)
			}
			p, err := tc.load(context.Background(), policyload.Clientset{Client: client})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if transient.Is(err) != tc.wantTransient {
					t.Errorf("transient.Is = %v, want %v", !tc.wantTransient, tc.wantTransient)
				}
				var ipe *v1alpha1.InvalidPolicyError
				if errors.As(err, &ipe) != (tc.wantPaths != nil) {
					t.Fatalf("error %T: want an *InvalidPolicyError exactly when the policy is invalid", err)
				}
				if ipe != nil {
					var paths []string
					for _, fe := range ipe.Fields.WrappedErrors() {
						paths = append(paths, fe.Paths...)
					}
					if d := cmp.Diff(tc.wantPaths, paths); d != "" {
						t.Errorf("paths (-want +got):\n%s", d)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tc.wantName || p.SecretNamespace != tc.wantSecretNS || p.Inline {
				t.Errorf("policy %s (secrets in %q, inline %v), want %s (secrets in %q)", p, p.SecretNamespace, p.Inline, tc.wantName, tc.wantSecretNS)
			}
			if p.Spec.GateOrder != v1alpha1.GateOrderEnforce || p.Spec.SecurityContext == nil {
				t.Errorf("spec not defaulted: %+v", p.Spec)
			}
		})
	}
}

// The controller's Getter hands out objects shared with its informer cache:
// loading must default a copy, never the object it was given.
func TestLoadLeavesTheGetterObjectAlone(t *testing.T) {
	shared := &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	before := shared.DeepCopy()
	if _, err := policyload.ClusterSecurityGate(context.Background(), sharedGetter{shared}, "p", ""); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, shared); d != "" {
		t.Errorf("the getter's object changed (-before +after):\n%s", d)
	}
}

type sharedGetter struct{ g *v1alpha1.ClusterSecurityGate }

func (s sharedGetter) ClusterSecurityGate(context.Context, string) (*v1alpha1.ClusterSecurityGate, error) {
	return s.g, nil
}
func (s sharedGetter) SecurityGate(context.Context, string, string) (*v1alpha1.SecurityGate, error) {
	return nil, errors.New("unused")
}

func TestInline(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      string
		wantErr   string
		wantPaths []string
	}{
		{name: "valid", spec: `{"mode":"Warn"}`},
		{name: "duplicate field", spec: `{"mode":"Warn","mode":"Enforce"}`, wantErr: `key "mode" already set`},
		{name: "unknown field", spec: `{"images":{"requireDigests":true}}`, wantErr: "unknown field: spec.images.requireDigests",
			wantPaths: []string{"spec.images.requireDigests"}},
		{name: "miscased field", spec: `{"MODE":"Warn"}`, wantErr: "unknown field: spec.MODE", wantPaths: []string{"spec.MODE"}},
		{name: "secretRef", spec: `{"authorities":[{"name":"a","key":{"secretRef":{"name":"s","key":"k"}}}],"images":{"authorities":["a"]}}`,
			wantErr: "an inline policy has no namespace whose Secrets it may read", wantPaths: []string{"spec.authorities[0].key.secretRef"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policyload.Inline(context.Background(), v1alpha1.KindSecurityGate, []byte(tc.spec))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !p.Inline || p.String() != policyload.InlineName || p.SecretNamespace != "" || p.Spec.Mode != v1alpha1.ModeWarn || p.Spec.SecurityContext == nil {
					t.Errorf("policy %+v, want an inline, defaulted policy reading no Secrets", p)
				}
				return
			}
			var ipe *v1alpha1.InvalidPolicyError
			if !errors.As(err, &ipe) || !strings.Contains(err.Error(), tc.wantErr) || transient.Is(err) {
				t.Fatalf("error %v, want an *InvalidPolicyError (not transient) containing %q", err, tc.wantErr)
			}
			var paths []string
			for _, fe := range ipe.Fields.WrappedErrors() {
				paths = append(paths, fe.Paths...)
			}
			if d := cmp.Diff(tc.wantPaths, paths); d != "" {
				t.Errorf("paths (-want +got):\n%s", d)
			}
		})
	}
}

func TestSecretKeys(t *testing.T) {
	secret := func(ns string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cosign-pub", Namespace: ns}, Data: map[string][]byte{"cosign.pub": []byte("PEM of " + ns)}}
	}
	ref := v1alpha1.SecretKeyRef{Name: "cosign-pub", Key: "cosign.pub"}
	for _, tc := range []struct {
		name          string
		secretNS      string
		ref           v1alpha1.SecretKeyRef
		broken        error
		want          string
		wantErr       string
		wantTransient bool
	}{
		{name: "its namespace", secretNS: "security-gate", ref: ref, want: "PEM of security-gate"},
		{name: "never another namespace", secretNS: "team", ref: ref, wantErr: "secrets \"cosign-pub\" not found"},
		{name: "no such key", secretNS: "security-gate", ref: v1alpha1.SecretKeyRef{Name: "cosign-pub", Key: "other"}, wantErr: `secret security-gate/cosign-pub has no key "other"`},
		{name: "forbidden", secretNS: "security-gate", ref: ref, broken: apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "cosign-pub", errors.New("RBAC")),
			wantErr: "needs get on secrets in namespace security-gate"},
		{name: "API server unavailable", secretNS: "security-gate", ref: ref, broken: apierrors.NewServiceUnavailable("etcd"),
			wantErr: "reading secret security-gate/cosign-pub", wantTransient: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fakekube.NewSimpleClientset(secret("security-gate"), secret("ci"))
			if tc.broken != nil {
				kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.broken })
			}
			read := policyload.SecretKeys(kube.CoreV1(), &policyload.Policy{SecretNamespace: tc.secretNS})
			got, err := read(context.Background(), tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || transient.Is(err) != tc.wantTransient {
					t.Fatalf("error %v (transient %v), want one containing %q (transient %v)", err, transient.Is(err), tc.wantErr, tc.wantTransient)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if read := policyload.SecretKeys(fakekube.NewSimpleClientset().CoreV1(), &policyload.Policy{Inline: true}); read != nil {
		t.Error("a policy with no secret namespace got a Secret reader")
	}
}
