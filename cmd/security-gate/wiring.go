package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/bundle"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/manifest"
	"github.com/security-gate/security-gate/pkg/verify"
)

// newVerifier builds the registry verifier for the policy: the default
// keychain (docker config, DOCKER_CONFIG, credential helpers), a bounded
// timeout per request, and the --now clock. There is no Sigstore public-good
// root: a keyless authority needs trustedRoot.data, or it cannot decide
// (exit 2), never passes.
func newVerifier(spec *v1alpha1.SecurityGateSpec, o *verifyOptions, now func() time.Time) (*verify.Verifier, error) {
	timeout := requestTimeout
	if o.timeout < timeout {
		timeout = o.timeout
	}
	return verify.New(spec, verify.Options{
		Keychain: authn.DefaultKeychain,
		Timeout:  timeout,
		Now:      now,
	})
}

// newFileResolver resolves what the -f inputs reference: by name among the
// given objects, then bundles from the registry through the verifier's
// client (one transport, one puller, one token per repository). Every other
// resolver (git, hub, cluster, http) is gate.ErrUnsupported, which the engine
// reports as unresolved.
func newFileResolver(objs []runtime.Object, v *verify.Verifier) gate.Resolver {
	chain := chainResolver{newLocalResolver(objs)}
	if v != nil {
		chain = append(chain, bundle.NewResolver(v.Client()))
	}
	return chain
}

// chainResolver asks each Resolver in turn. A Resolver that answers
// gate.ErrUnsupported passes the reference on; any other answer, success or
// error (not found, registry trouble), is final, so a by-name miss is never
// papered over by another source.
type chainResolver []gate.Resolver

func (c chainResolver) Resolve(ctx context.Context, ref gate.Ref) (*gate.Resolved, error) {
	for _, r := range c {
		if r == nil {
			continue
		}
		res, err := r.Resolve(ctx, ref)
		if errors.Is(err, gate.ErrUnsupported) {
			continue
		}
		return res, err
	}
	return nil, fmt.Errorf("%w: no resolver of the CLI loads %s", gate.ErrUnsupported, describe(ref))
}

func describe(ref gate.Ref) string {
	switch {
	case ref.Bundle != "":
		return fmt.Sprintf("%s %q from bundle %s", ref.Kind, ref.Name, ref.Bundle)
	case ref.Resolver != "":
		return fmt.Sprintf("a %s from the %q resolver (only bundles and references by name are supported outside a cluster)", ref.Kind, ref.Resolver)
	default:
		return fmt.Sprintf("%s %q", ref.Kind, ref.Name)
	}
}

// loadInputs reads every -f path (files, directories recursively, "-" for
// stdin). It runs under ctx so that a stdin that never closes still ends at
// --timeout.
func loadInputs(ctx context.Context, paths []string, stdin io.Reader) ([]runtime.Object, []gate.Finding) {
	if len(paths) == 0 {
		return nil, nil
	}
	type result struct {
		docs []manifest.Document
		err  error
	}
	done := make(chan result, 1)
	go func() {
		docs, err := manifest.Load(paths, stdin)
		done <- result{docs, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, []gate.Finding{{Check: gate.CheckInput, Subject: joinPaths(paths),
			Message: fmt.Sprintf("reading the input did not finish: %v", ctx.Err()), Transient: true}}
	}
	if res.err != nil {
		subject := joinPaths(paths)
		var me *manifest.Error
		if errors.As(res.err, &me) {
			subject = me.Source
			if me.Index > 0 {
				subject = fmt.Sprintf("%s (document %d)", me.Source, me.Index)
			}
		}
		return nil, []gate.Finding{{Check: gate.CheckInput, Subject: subject, Message: res.err.Error()}}
	}
	if len(res.docs) == 0 {
		// An empty directory or an empty stdin is a mistake, not a pass.
		return nil, []gate.Finding{{Check: gate.CheckInput, Subject: joinPaths(paths),
			Message: "no Tekton object found: want PipelineRun, Pipeline, TaskRun, Task or StepAction documents (tekton.dev/v1 or v1beta1)"}}
	}
	return manifest.Objects(res.docs), nil
}

func joinPaths(paths []string) string {
	out := ""
	for i, p := range paths {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}
