package main

import (
	"context"
	"fmt"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	sgversioned "github.com/security-gate/security-gate/pkg/client/clientset/versioned"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/policyload"
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

// loadClusterPolicy reads --policy-name, a ClusterSecurityGate, through
// pkg/policyload exactly as the controller does: defaulted, validated, its
// key.secretRefs read in --controller-namespace (the controller's namespace
// for a ClusterSecurityGate). Every failure is "could not decide": the
// policy is not guessed.
func loadClusterPolicy(ctx context.Context, o *verifyOptions, cl *lazyCluster) (*v1alpha1.Policy, verify.SecretKeysFunc, []gate.Finding) {
	subject := gate.TextSubject(policySubject(o))
	c, err := cl.get()
	if err != nil {
		return nil, nil, []gate.Finding{{Check: gate.CheckPolicy, Subject: subject, Message: fmt.Sprintf("cannot read ClusterSecurityGate %q: %v", o.policyName, err)}}
	}
	p, err := policyload.ClusterSecurityGate(ctx, policyload.Clientset{Client: c.policies}, o.policyName, o.controllerNamespace)
	if err != nil {
		return nil, nil, policyFindings(subject, err)
	}
	return &p.Policy, policyload.SecretKeys(c.secrets, p), nil
}

// policySubject names the policy in findings: its file, or the object.
func policySubject(o *verifyOptions) string {
	if o.policyName != "" {
		return "clustersecuritygate/" + o.policyName
	}
	return o.policy
}
