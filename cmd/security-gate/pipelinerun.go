package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/transient"
)

// loadPipelineRun reads --pipelinerun from the cluster and returns what the
// engine needs, resolved as the controller resolves it: references by name
// from the run's namespace, remote references from the ResolutionRequests
// Tekton completed for this run (bundles pinned at the digest Tekton read).
// Namespace: --namespace, else the kubeconfig context's or the pod's.
func loadPipelineRun(ctx context.Context, o *verifyOptions, cl *lazyCluster) (gate.Input, gate.Resolver, []gate.Finding) {
	subject := gate.ObjectSubject("pipelinerun", "", o.pipelineRun)
	fail := func(format string, args ...any) (gate.Input, gate.Resolver, []gate.Finding) {
		return gate.Input{}, nil, []gate.Finding{{Check: gate.CheckInput, Subject: subject, Message: fmt.Sprintf(format, args...)}}
	}
	c, err := cl.get()
	if err != nil {
		return fail("%v", err)
	}
	ns := o.namespace
	if ns == "" {
		if ns = c.namespace; c.namespaceErr != nil || ns == "" {
			return fail("cannot tell the namespace; give --namespace: %v", c.namespaceErr)
		}
	}
	subject = gate.ObjectSubject("pipelinerun", ns, o.pipelineRun)
	in, res, err := pipelinerunresolver.ForPipelineRun(ctx, c.tekton, ns, o.pipelineRun, o.images)
	switch {
	case errors.Is(err, pipelinerunresolver.ErrPipelineSpecPending):
		_, _, fs := fail("Tekton has not finished resolving the run yet; retry: %v", err)
		fs[0].Transient = transient.Is(err)
		return gate.Input{}, nil, fs
	case err != nil:
		_, _, fs := fail("cannot read the run: %v", err)
		fs[0].Transient = transient.Is(err)
		return gate.Input{}, nil, fs
	}
	return in, res, nil
}
