package main

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
)

// loadPipelineRun reads --pipelinerun from the cluster and returns what the
// engine needs, resolved as the controller resolves it: references by name
// from the run's namespace, remote references from the ResolutionRequests
// Tekton completed for this run (bundles pinned at the digest Tekton read).
// Configuration: --kubeconfig, else in-cluster, else $KUBECONFIG or
// ~/.kube/config; namespace: --namespace, else the context's or pod's.
func loadPipelineRun(ctx context.Context, o *verifyOptions) (gate.Input, gate.Resolver, []gate.Finding) {
	subject := "pipelinerun/" + o.pipelineRun
	fail := func(format string, args ...any) (gate.Input, gate.Resolver, []gate.Finding) {
		return gate.Input{}, nil, []gate.Finding{{Check: gate.CheckInput, Subject: subject, Message: fmt.Sprintf(format, args...)}}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return fail("no cluster configuration (--kubeconfig, in-cluster, $KUBECONFIG or ~/.kube/config): %v", err)
	}
	cfg.UserAgent = "security-gate"
	ns := o.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return fail("cannot tell the namespace; give --namespace: %v", err)
		}
	}
	subject = "pipelinerun/" + ns + "/" + o.pipelineRun
	clients, err := pipelinerunresolver.NewClients(cfg)
	if err != nil {
		return fail("cannot create cluster clients: %v", err)
	}
	in, res, err := pipelinerunresolver.ForPipelineRun(ctx, clients, ns, o.pipelineRun, o.images)
	switch {
	case errors.Is(err, pipelinerunresolver.ErrNotResolvedYet), errors.Is(err, pipelinerunresolver.ErrPipelineSpecPending):
		_, _, fs := fail("Tekton has not finished resolving the run yet; retry: %v", err)
		fs[0].Transient = true
		return gate.Input{}, nil, fs
	case err != nil:
		return fail("cannot read the run: %v", err)
	}
	return in, res, nil
}
