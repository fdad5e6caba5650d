package main

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	sgversioned "github.com/security-gate/security-gate/pkg/client/clientset/versioned"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/verify"
)

// clusterConn is what verify reads from the API server: the run and what it
// references (--pipelinerun), the policy (--policy-name) and the Secrets its
// key.secretRefs name. All clients share one REST configuration.
type clusterConn struct {
	// namespace is the kubeconfig context's, or the pod's in a cluster;
	// namespaceErr says why there is none.
	namespace    string
	namespaceErr error
	tekton       pipelinerunresolver.Source
	policies     sgversioned.Interface
	secrets      corev1client.SecretsGetter
}

// connectFunc returns the cluster for --kubeconfig. The command uses
// connectCluster; tests inject fake clientsets.
type connectFunc func(kubeconfig string) (*clusterConn, error)

// connectCluster builds the clients from --kubeconfig, else the in-cluster
// configuration, else $KUBECONFIG or ~/.kube/config. Nothing is sent to the
// API server here.
func connectCluster(kubeconfig string) (*clusterConn, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no cluster configuration (--kubeconfig, in-cluster, $KUBECONFIG or ~/.kube/config): %v", err)
	}
	cfg.UserAgent = "security-gate"
	c := &clusterConn{}
	c.namespace, _, c.namespaceErr = cc.Namespace()
	if c.tekton, err = pipelinerunresolver.NewClients(cfg); err != nil {
		return nil, fmt.Errorf("cannot create cluster clients: %v", err)
	}
	if c.policies, err = sgversioned.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("cannot create the securitygate.dev client: %v", err)
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot create the core client: %v", err)
	}
	c.secrets = core
	return c, nil
}

// lazyCluster connects once, on first use: a run that needs no cluster
// (--policy FILE -f …) never loads a kubeconfig.
type lazyCluster struct {
	connect    connectFunc
	kubeconfig string
	done       bool
	c          *clusterConn
	err        error
}

func (l *lazyCluster) get() (*clusterConn, error) {
	if !l.done {
		l.done = true
		l.c, l.err = l.connect(l.kubeconfig)
	}
	return l.c, l.err
}

// loadClusterPolicy reads --policy-name, a ClusterSecurityGate, and defaults
// and validates it as the controller does. Its key.secretRefs resolve in
// --controller-namespace, like the controller's for a ClusterSecurityGate.
// Every failure is "could not decide": the policy is not guessed.
func loadClusterPolicy(ctx context.Context, o *verifyOptions, cl *lazyCluster) (*v1alpha1.Policy, verify.SecretKeysFunc, []gate.Finding) {
	name := o.policyName
	subject := policySubject(o)
	fail := func(transient bool, format string, args ...any) (*v1alpha1.Policy, verify.SecretKeysFunc, []gate.Finding) {
		return nil, nil, []gate.Finding{{Check: gate.CheckPolicy, Subject: subject, Message: fmt.Sprintf(format, args...), Transient: transient}}
	}
	c, err := cl.get()
	if err != nil {
		return fail(false, "cannot read ClusterSecurityGate %q: %v", name, err)
	}
	g, err := c.policies.SecuritygateV1alpha1().ClusterSecurityGates().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fail(false, "ClusterSecurityGate %q not found in the cluster: create it, or name an existing one with --policy-name", name)
	case apierrors.IsForbidden(err):
		return fail(false, "reading ClusterSecurityGate %q is forbidden: the service account needs get on clustersecuritygates.securitygate.dev: %v", name, err)
	case err != nil:
		return fail(true, "reading ClusterSecurityGate %q: %v", name, err)
	}
	spec := g.Spec.DeepCopy()
	spec.SetDefaults(ctx)
	if fe := spec.Validate(ctx); fe != nil {
		return nil, nil, fieldFindings(gate.CheckPolicy, subject,
			fmt.Errorf("%s/%s is invalid:\n%v", v1alpha1.KindClusterSecurityGate, name, fe.ViaField("spec")))
	}
	p := &v1alpha1.Policy{Kind: v1alpha1.KindClusterSecurityGate, ObjectMeta: *g.ObjectMeta.DeepCopy(), Spec: *spec}
	return p, secretKeys(c.secrets, o.controllerNamespace), nil
}

// secretKeys reads key.secretRef Secrets in namespace ns only, as the
// controller does for a ClusterSecurityGate (its own namespace). Errors do
// not repeat the policy: verify.New's caller names it.
func secretKeys(secrets corev1client.SecretsGetter, ns string) verify.SecretKeysFunc {
	return func(ctx context.Context, ref v1alpha1.SecretKeyRef) ([]byte, error) {
		s, err := secrets.Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsForbidden(err):
			return nil, fmt.Errorf("reading secret %s/%s is forbidden: the service account needs get on secrets in namespace %s (--controller-namespace): %w",
				ns, ref.Name, ns, err)
		case err != nil:
			return nil, fmt.Errorf("reading secret %s/%s (--controller-namespace %s): %w", ns, ref.Name, ns, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return nil, fmt.Errorf("secret %s/%s has no key %q", ns, ref.Name, ref.Key)
		}
		return v, nil
	}
}

// policySubject names the policy in findings: its file, or the object.
func policySubject(o *verifyOptions) string {
	if o.policyName != "" {
		return "clustersecuritygate/" + o.policyName
	}
	return o.policy
}
