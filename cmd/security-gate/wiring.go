package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/bundle"
	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
	"github.com/security-gate/security-gate/pkg/manifest"
	"github.com/security-gate/security-gate/pkg/verify"
)

// newVerifier builds the registry verifier for the policy: the default
// keychain (docker config, DOCKER_CONFIG, credential helpers), one budget
// per registry request shared by its retries (registryTimeout), and the
// --now clock. Sigstore trust roots come through TUF (trustroot.go): the
// public instance's for keyless authorities without a root of their own, a
// root that cannot be fetched is exit 2, never a pass. keys resolves
// key.secretRef (--policy-name only; nil otherwise, and a secretRef is then
// an error).
func newVerifier(ctx context.Context, spec *v1alpha1.SecurityGateSpec, o *verifyOptions, now func() time.Time, keys verify.SecretKeysFunc) (*verify.Verifier, error) {
	roots, public, err := o.tuf.pool(ctx, spec, registryTimeout(o.timeout))
	if err != nil {
		return nil, err
	}
	return verify.New(spec, verify.Options{
		// Sigstore trust roots through TUF (trustroot.go).
		TrustRoots: roots,
		PublicTUF:  public,

		Keychain: authn.DefaultKeychain,
		Timeout:  registryTimeout(o.timeout),
		Now:      now,
		// One cache per invocation: a CLI run is one process, and tests
		// that call run in-process must not see each other's results.
		Cache: verify.NewCache(defaults.CacheSize, defaults.CacheTTL),
		// Secrets are read while compiling, within --timeout.
		SecretKeys: keys,
		Context:    ctx,
	})
}

// newFileResolver resolves what the -f inputs reference: by name among the
// given objects (pkg/gate/local), then bundles from the registry through the
// verifier's client (one transport, one puller, one token per repository).
// Every other resolver (git, hub, cluster, http) is gate.ErrUnsupported,
// which the engine reports as unresolved.
func newFileResolver(objs []runtime.Object, v *verify.Verifier) (gate.Resolver, error) {
	byName, err := local.New(objs)
	if err != nil {
		return nil, err
	}
	return gate.Chain(byName, bundle.NewResolver(v.Client())), nil
}

// loaded is what loadInputs returns, handed over by startInputs.
type loaded struct {
	docs  []manifest.Document
	fails []gate.Finding
}

// startInputs runs loadInputs in the background; the channel yields its
// result once (it is buffered: nobody has to read it).
func startInputs(ctx context.Context, paths []string, stdin io.Reader) <-chan loaded {
	ch := make(chan loaded, 1)
	go func() {
		docs, fails := loadInputs(ctx, paths, stdin)
		ch <- loaded{docs, fails}
	}()
	return ch
}

// loadInputs reads every -f path (files, directories recursively, "-" for
// stdin). It runs under ctx so that a stdin that never closes still ends at
// --timeout.
func loadInputs(ctx context.Context, paths []string, stdin io.Reader) ([]manifest.Document, []gate.Finding) {
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
		return nil, []gate.Finding{{Check: gate.CheckInput, Subject: gate.TextSubject(joinPaths(paths)),
			Message: fmt.Sprintf("reading the input did not finish: %v", ctx.Err()), Transient: true}}
	}
	if res.err != nil {
		subject, msg := joinPaths(paths), res.err.Error()
		var me *manifest.Error
		if errors.As(res.err, &me) && me.Err != nil {
			// The subject names the file and document; the message the field.
			subject, msg = me.Source, me.Err.Error()
			if me.Index > 0 {
				subject = fmt.Sprintf("%s (document %d)", me.Source, me.Index)
			}
		}
		return nil, []gate.Finding{{Check: gate.CheckInput, Subject: gate.TextSubject(subject), Message: msg}}
	}
	if len(res.docs) == 0 {
		// An empty directory or an empty stdin is a mistake, not a pass.
		return nil, []gate.Finding{{Check: gate.CheckInput, Subject: gate.TextSubject(joinPaths(paths)),
			Message: "no Tekton object found: want PipelineRun, Pipeline, TaskRun, Task or StepAction documents (tekton.dev/v1 or v1beta1)"}}
	}
	return res.docs, nil
}

// locator maps a finding's subject to the file its object came from, for
// SARIF physical locations: the subject's object (Subject.Object: runs with
// their namespace, Pipelines and Tasks as given), or the policy file. An
// ambiguous name (two files define it) is left without a file rather than
// pointing at the wrong one.
func locator(docs []manifest.Document, policyPath string) func(gate.Subject) (string, bool) {
	files := map[string]string{}
	ambiguous := map[string]bool{}
	add := func(key, file string) {
		if prev, ok := files[key]; ok && prev != file {
			ambiguous[key] = true
		}
		files[key] = file
	}
	if policyPath != "-" && policyPath != "" {
		add(policyPath, policyPath)
	}
	for _, d := range docs {
		if d.Source == manifest.Stdin {
			continue
		}
		m, err := meta.Accessor(d.Object)
		if err != nil {
			continue
		}
		switch d.Object.(type) {
		case *v1.PipelineRun:
			add(gate.ObjectSubject("pipelinerun", m.GetNamespace(), m.GetName()).Object(), d.Source)
		case *v1.TaskRun:
			add(gate.ObjectSubject("taskrun", m.GetNamespace(), m.GetName()).Object(), d.Source)
		case *v1.Pipeline:
			add(gate.ObjectSubject("pipeline", m.GetNamespace(), m.GetName()).Object(), d.Source)
		case *v1.Task:
			add(gate.ObjectSubject("task", m.GetNamespace(), m.GetName()).Object(), d.Source)
		case *v1beta1.StepAction:
			add(gate.ObjectSubject("stepaction", m.GetNamespace(), m.GetName()).Object(), d.Source)
		}
	}
	return func(subject gate.Subject) (string, bool) {
		key := subject.Object()
		if key == "" {
			key = subject.Text // the policy file
		}
		if ambiguous[key] {
			return "", false
		}
		f, ok := files[key]
		return f, ok
	}
}

func joinPaths(paths []string) string { return strings.Join(paths, ", ") }
