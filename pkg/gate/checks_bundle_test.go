package gate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
	"github.com/security-gate/security-gate/pkg/transient"
)

// bundleResolver serves bundle references from objects keyed by
// "<bundle>|<name>", falling back to a local resolver; it records the refs
// it was asked for.
type bundleResolver struct {
	local   *local.Resolver
	objects map[string]runtime.Object
	err     error

	mu   sync.Mutex
	asks []gate.Ref
}

func (b *bundleResolver) Resolve(ctx context.Context, ref gate.Ref) (*gate.Resolved, error) {
	b.mu.Lock()
	b.asks = append(b.asks, ref)
	b.mu.Unlock()
	if ref.Bundle == "" {
		return b.local.Resolve(ctx, ref)
	}
	if b.err != nil {
		return nil, b.err
	}
	o, ok := b.objects[ref.Bundle+"|"+ref.Name]
	if !ok {
		return nil, fmt.Errorf("%s in %s: %w", ref.Name, ref.Bundle, gate.ErrNotFound)
	}
	return &gate.Resolved{Object: o.DeepCopyObject(), BundleDigest: ref.Bundle}, nil
}

// pinningResolver adds BundlePinner.
type pinningResolver struct {
	*bundleResolver
	pins map[string]string
	// err, when set, is what every PinBundle returns.
	err error
	n   atomic.Int32
}

func (p *pinningResolver) PinBundle(ctx context.Context, ref gate.Ref) (string, error) {
	p.n.Add(1)
	if p.err != nil {
		return "", p.err
	}
	d, ok := p.pins[ref.Bundle]
	if !ok {
		return "", gate.ErrUnsupported
	}
	return d, nil
}

func TestBundleRules(t *testing.T) {
	pr := func(pipelineRef, tasks string) string {
		return `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr, namespace: ci}
spec:
  pipelineRef: ` + pipelineRef + `
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
` + tasks + `
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec: {steps: [{name: s, image: alpine}]}
`
	}
	bundleRef := func(bundle, name string) string {
		return `{resolver: bundles, params: [{name: bundle, value: "` + bundle + `"}, {name: name, value: ` + name + `}, {name: kind, value: task}]}`
	}
	tag := "registry.example.com/b:1"
	dig := digest("registry.example.com/b", 0xab)
	const base = "pipelinerun/ci/pr"
	tests := []struct {
		name     string
		required bool
		digest   bool
		in       string
		verdict  gate.Verdict
		wants    []want
	}{{
		name: "not required: references by name pass", in: pr("{name: p}", "  - {name: a, taskRef: {name: t}}"), verdict: gate.VerdictPass,
	}, {
		name: "required: pipelineRef and taskRef by name", required: true,
		in: pr("{name: p}", "  - {name: a, taskRef: {name: t}}"), verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckBundle, base, `spec.pipelineRef references Pipeline "p" by name, not a Tekton bundle`),
			v(gate.CheckBundle, base+" task=a", `taskRef references Task "t" by name`),
		},
	}, {
		name: "required: embedded pipelineSpec and taskSpec", required: true,
		in:      "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineSpec: {tasks: [{name: a, taskSpec: {steps: [{name: s, image: alpine}]}}]}}\n",
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckBundle, base, "spec.pipelineSpec is embedded"),
			v(gate.CheckBundle, base+" task=a", "taskSpec is embedded"),
		},
	}, {
		name: "required: git resolver", required: true,
		in:      pr(bundleRef(dig, "p"), "  - {name: a, taskRef: {resolver: git, params: [{name: url, value: x}]}}"),
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckBundle, base+" task=a", `taskRef uses the "git" resolver, not a Tekton bundle`),
			w(gate.CheckUnresolved, base+" task=a", "Task from the git resolver could not be loaded"),
		},
	}, {
		name: "required and digest: pinned bundles pass, gate exempt", required: true, digest: true,
		in:      pr(bundleRef(dig, "p"), "  - {name: gate, taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: x}}\n  - {name: a, runAfter: [gate], taskRef: "+bundleRef(dig, "t")+"}"),
		verdict: gate.VerdictPass,
	}, {
		name: "requireDigest: a tag", digest: true,
		in:      pr(bundleRef(dig, "p"), "  - {name: a, taskRef: "+bundleRef(tag, "t")+"}"),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckBundle, base+" task=a", `taskRef.params.bundle "registry.example.com/b:1" is not pinned by digest`)},
	}, {
		name: "embedded taskSpec inside a bundled pipeline is part of the bundle", required: true,
		in:      pr(bundleRef(dig, "p"), "  - {name: a, taskSpec: {steps: [{name: s, image: alpine}]}}"),
		verdict: gate.VerdictPass,
	}, {
		// Policies here are privileged with no image rules: no enabled
		// check needs what a custom task runs (checks_customtask_test.go
		// has the rest).
		name: "custom task is an unresolved warning when nothing needs its content", required: true,
		in:      pr(bundleRef(dig, "p"), "  - {name: a, taskRef: {apiVersion: example.dev/v1, kind: Approval, name: x}}"),
		verdict: gate.VerdictWarn,
		wants:   []want{w(gate.CheckUnresolved, base+" task=a", `custom task (apiVersion "example.dev/v1", kind "Approval") is run by another controller`)},
	}, {
		name: "bundle from a result", in: pr(bundleRef(dig, "p"), "  - {name: a, taskRef: "+bundleRef("$(tasks.x.results.b)", "t")+"}"),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckBundle, base+" task=a", "depends on a result of another task")},
	}, {
		name: "malformed bundle", in: pr(bundleRef(dig, "p"), "  - {name: a, taskRef: "+bundleRef("Not A Ref", "t")+"}"),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckBundle, base+" task=a", "is not a valid image reference")},
	}, {
		name: "bundles resolver without name", in: pr(bundleRef(dig, "p"), "  - {name: a, taskRef: {resolver: bundles, params: [{name: bundle, value: '"+dig+"'}]}}"),
		verdict: gate.VerdictFail,
		wants:   []want{v(gate.CheckBundle, base+" task=a", "without a name param")},
	}, {
		name: "legacy bundle field named as written", digest: true,
		in:      "apiVersion: tekton.dev/v1beta1\nkind: PipelineRun\nmetadata: {name: pr, namespace: ci}\nspec: {pipelineRef: {name: p, bundle: '" + tag + "'}}\n",
		verdict: gate.VerdictFail,
		wants: []want{
			v(gate.CheckBundle, base, `spec.pipelineRef.bundle "registry.example.com/b:1" is not pinned by digest`),
			v(gate.CheckUnresolved, base, `Pipeline "p" from bundle registry.example.com/b:1 could not be loaded`),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(func(s *v1alpha1.SecurityGateSpec) {
				privileged(s)
				s.Bundles = &v1alpha1.BundlePolicy{Required: tt.required, RequireDigest: tt.digest}
			})
			objs := objects(t, tt.in)
			l, _ := local.New(objs)
			p, _ := l.Resolve(context.Background(), gate.Ref{Kind: gate.KindPipeline, Name: "p", Namespace: "ci"})
			tk, _ := l.Resolve(context.Background(), gate.Ref{Kind: gate.KindTask, Name: "t", Namespace: "ci"})
			res := &bundleResolver{local: l, objects: map[string]runtime.Object{}}
			if p != nil {
				res.objects[dig+"|p"] = p.Object
			}
			if tk != nil {
				res.objects[dig+"|t"] = tk.Object
				res.objects[tag+"|t"] = tk.Object
			}
			// The Pipeline and Task documents are the bundles' content; a
			// run that reads them from bundles is given alone, or they
			// would be verified on their own as well.
			var in []runtime.Object
			for _, o := range objs {
				if _, isRun := o.(*v1.PipelineRun); isRun || strings.Contains(tt.in, "pipelineRef: {name: p}") {
					in = append(in, o)
				}
			}
			rep := gate.New(gate.Options{Resolver: res}).Verify(context.Background(), s, gate.Input{Objects: in})
			expect(t, rep, tt.verdict, tt.wants...)
		})
	}
}

func TestUnresolved(t *testing.T) {
	in := "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskRef: {name: missing}}\n"
	const subj = "taskrun/ci/r"
	tests := []struct {
		name    string
		policy  func(*v1alpha1.SecurityGateSpec)
		resolve error
		verdict gate.Verdict
		wants   []want
	}{{
		name: "not found, no check needs the content: warning", policy: privileged,
		verdict: gate.VerdictWarn, wants: []want{w(gate.CheckUnresolved, subj, `Task "missing" could not be loaded`)},
	}, {
		name: "not found, security-context needs it: violation", policy: nil,
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckUnresolved, subj, "needed by an enabled check")},
	}, {
		name: "not found, requireDigest needs it", policy: func(s *v1alpha1.SecurityGateSpec) {
			privileged(s)
			s.Images = &v1alpha1.ImagePolicy{RequireDigest: true}
		},
		verdict: gate.VerdictFail, wants: []want{v(gate.CheckUnresolved, subj, "needed by an enabled check")},
	}, {
		name: "unsupported resolver answer", policy: privileged, resolve: fmt.Errorf("git: %w", gate.ErrUnsupported),
		verdict: gate.VerdictWarn, wants: []want{w(gate.CheckUnresolved, subj, "git: unsupported reference")},
	}, {
		name: "other resolver error: could not decide", policy: privileged, resolve: errors.New("api server down"),
		verdict: gate.VerdictError, wants: []want{e(gate.CheckUnresolved, subj, "could not decide: loading Task \"missing\" failed: api server down")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := gate.Options{}
			if tt.resolve != nil {
				opts.Resolver = errResolver{tt.resolve}
			}
			expect(t, verify(t, spec(tt.policy), in, opts), tt.verdict, tt.wants...)
		})
	}
}

type errResolver struct{ err error }

func (e errResolver) Resolve(context.Context, gate.Ref) (*gate.Resolved, error) { return nil, e.err }

func TestResolverErrorTransient(t *testing.T) {
	in := "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskRef: {name: t}}\n"
	for _, tt := range []struct {
		err       error
		transient bool
	}{
		{transient.Mark(errors.New("503")), true},
		{context.DeadlineExceeded, true},
		{errors.New("forbidden"), false},
	} {
		rep := verify(t, spec(privileged), in, gate.Options{Resolver: errResolver{tt.err}})
		if len(rep.Errors) != 1 || rep.Errors[0].Transient != tt.transient || rep.Verdict != gate.VerdictError {
			t.Errorf("%v: errors = %+v, verdict %s; want one error with transient=%v", tt.err, rep.Errors, rep.Verdict, tt.transient)
		}
	}
}

func TestBundleFromRunParams(t *testing.T) {
	dig := digest("registry.example.com/b", 0xcd)
	in := `apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: r, namespace: ci}
spec:
  params: [{name: catalog, value: "` + dig + `"}]
  taskRef: {resolver: bundles, params: [{name: bundle, value: $(params.catalog)}, {name: name, value: t}]}
`
	task := objects(t, "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine}]}\n")[0]
	l, _ := local.New(nil)
	res := &bundleResolver{local: l, objects: map[string]runtime.Object{dig + "|t": task}}
	s := spec(func(s *v1alpha1.SecurityGateSpec) {
		privileged(s)
		s.Bundles = &v1alpha1.BundlePolicy{Required: true, RequireDigest: true}
	})
	expect(t, verify(t, s, in, gate.Options{Resolver: res}), gate.VerdictPass)
	if len(res.asks) != 1 || res.asks[0].Bundle != dig {
		t.Fatalf("resolver asked %+v, want the bundle from the run's param", res.asks)
	}
}
