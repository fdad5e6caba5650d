package customrun

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakekube "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

// key.secretRef is read in exactly one namespace: the controller's for a
// ClusterSecurityGate, the policy's own for a SecurityGate, none for an
// inline policy. A same-named Secret elsewhere is never used.
func TestSecretRefNamespace(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	secret := func(ns string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cosign-pub", Namespace: ns}, Data: map[string][]byte{"cosign.pub": pub}}
	}
	spec := &v1alpha1.SecurityGateSpec{Authorities: []v1alpha1.Authority{{Name: "release", IgnoreTlog: true,
		Key: &v1alpha1.KeyAuthority{SecretRef: &v1alpha1.SecretKeyRef{Name: "cosign-pub", Key: "cosign.pub"}}}},
		Images: &v1alpha1.ImagePolicy{Authorities: []string{"release"}}}
	spec.SetDefaults(context.Background())
	if fe := spec.Validate(context.Background()); fe != nil {
		t.Fatal(fe)
	}
	for _, tc := range []struct {
		name     string
		secrets  []*corev1.Secret
		secretNS string
		wantErr  string
	}{
		{name: "ClusterSecurityGate: controller namespace", secrets: []*corev1.Secret{secret("security-gate")}, secretNS: "security-gate"},
		{name: "SecurityGate: its own namespace", secrets: []*corev1.Secret{secret("team")}, secretNS: "team"},
		{name: "a Secret of another namespace is not used", secrets: []*corev1.Secret{secret("ci")}, secretNS: "security-gate", wantErr: "not found"},
		{name: "inline policy reads no Secret", secrets: []*corev1.Secret{secret("ci")}, secretNS: "", wantErr: "cannot be read here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fakekube.NewSimpleClientset()
			for _, s := range tc.secrets {
				if _, err := kube.CoreV1().Secrets(s.Namespace).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			f := DefaultVerifier(kube, &cacheHolder{}, clock.RealClock{})
			p := &policyload.Policy{Policy: v1alpha1.Policy{Kind: v1alpha1.KindClusterSecurityGate, Spec: *spec}, SecretNamespace: tc.secretNS}
			v, err := f(context.Background(), VerifierRequest{Policy: p, Config: config.Default()})
			if tc.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("verifier: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
