package gate_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
	"github.com/security-gate/security-gate/pkg/transient"
)

// signing is a policy with image registry rules (authorities are names
// only here: the fake verifier stands for the registry).
func signing(s *v1alpha1.SecurityGateSpec) {
	privileged(s)
	s.Images = &v1alpha1.ImagePolicy{Authorities: []string{"release"}}
}

// manyImages is a pipeline whose 6 steps use 4 references of 3 digests:
// app:1 and app:latest are the same digest.
const manyImages = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - {name: a, taskSpec: {steps: [{name: s1, image: "r.example/app:1"}, {name: s2, image: "r.example/app:latest"}]}}
  - {name: b, taskSpec: {steps: [{name: s1, image: "r.example/app:1"}, {name: s2, image: "r.example/tool:2"}]}}
  - {name: c, taskSpec: {steps: [{name: s1, image: "r.example/db:3"}, {name: s2, image: "r.example/tool:2"}]}}
`

func fakeForMany() *fakeVerifier {
	f := newFakeVerifier()
	f.digests["r.example/app:1"] = digest("r.example/app", 1)
	f.digests["r.example/app:latest"] = digest("r.example/app", 1)
	f.digests["r.example/tool:2"] = digest("r.example/tool", 2)
	f.digests["r.example/db:3"] = digest("r.example/db", 3)
	return f
}

func TestImageOrchestration(t *testing.T) {
	f := fakeForMany()
	f.findings[digest("r.example/db", 3)] = []gate.Finding{{Check: gate.CheckImageSignature, Message: "no signature from release", Severity: gate.SeverityViolation}}
	rep := verify(t, spec(signing), manyImages, gate.Options{Verifier: f, Concurrency: 2})
	expect(t, rep, gate.VerdictFail, v(gate.CheckImageSignature, "r.example/db:3", "no signature from release"))
	for ref, n := range f.resolveCalls {
		if n != 1 {
			t.Errorf("ResolveDigest(%s) called %d times, want once per run", ref, n)
		}
	}
	if len(f.resolveCalls) != 4 {
		t.Errorf("ResolveDigest called for %d references, want 4", len(f.resolveCalls))
	}
	if len(f.imageCalls) != 3 {
		t.Errorf("VerifyImage called for %d digests, want 3: %v", len(f.imageCalls), f.imageCalls)
	}
	for d, n := range f.imageCalls {
		if n != 1 {
			t.Errorf("VerifyImage(%s) called %d times, want once", d, n)
		}
	}
	if f.max > 2 {
		t.Errorf("%d concurrent registry calls, want at most Concurrency=2", f.max)
	}
	wantVerified := []string{digest("r.example/app", 1), digest("r.example/tool", 2)}
	if !reflect.DeepEqual(rep.VerifiedImages, wantVerified) {
		t.Errorf("VerifiedImages = %v, want %v", rep.VerifiedImages, wantVerified)
	}
	if rep.Summary.Images != 4 {
		t.Errorf("summary images = %d, want 4", rep.Summary.Images)
	}
	if rep.Violations[0].Task != "c" {
		t.Errorf("finding task = %q, want c", rep.Violations[0].Task)
	}
}

func TestImageRegistryOutcomes(t *testing.T) {
	const in = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: 'r.example/app:1'}]}\n"
	tests := []struct {
		name     string
		policy   func(*v1alpha1.SecurityGateSpec)
		verifier func() *fakeVerifier // nil: no verifier
		images   []string
		verdict  gate.Verdict
		wants    []want
	}{{
		name: "no registry rules: no registry call", policy: privileged,
		verifier: func() *fakeVerifier { return newFakeVerifier() }, verdict: gate.VerdictPass,
	}, {
		name: "no verifier but authorities: fail closed", policy: signing, verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckUnresolved, "r.example/app:1", "not verified: no registry verifier")},
	}, {
		name: "no verifier but attestations: fail closed", policy: func(s *v1alpha1.SecurityGateSpec) {
			privileged(s)
			s.Attestations = []v1alpha1.AttestationPolicy{{Name: "scan", Type: "vuln"}}
		}, verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckUnresolved, "r.example/app:1", "not verified")},
	}, {
		name: "image not found is a violation", policy: signing,
		verifier: func() *fakeVerifier { return newFakeVerifier() }, verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckImageSignature, "r.example/app:1", "was not found")},
	}, {
		name: "transient resolve error: could not decide", policy: signing,
		verifier: func() *fakeVerifier {
			f := newFakeVerifier()
			f.resolveErr["r.example/app:1"] = transient.Mark(errors.New("503 Service Unavailable"))
			return f
		}, verdict: gate.VerdictError,
		wants: []want{e(gate.CheckRegistry, "r.example/app:1", "503 Service Unavailable")},
	}, {
		name: "verify error: could not decide", policy: signing,
		verifier: func() *fakeVerifier {
			f := newFakeVerifier()
			f.digests["r.example/app:1"] = digest("r.example/app", 1)
			f.verifyErr[digest("r.example/app", 1)] = errors.New("timeout")
			return f
		}, verdict: gate.VerdictError,
		wants: []want{e(gate.CheckImageSignature, "r.example/app:1", "could not decide: verifying image")},
	}, {
		name: "extra images are verified too", policy: signing, images: []string{"r.example/out:9", "bad ref!"},
		verifier: func() *fakeVerifier {
			f := newFakeVerifier()
			f.digests["r.example/app:1"] = digest("r.example/app", 1)
			f.digests["r.example/out:9"] = digest("r.example/out", 9)
			f.findings[digest("r.example/out", 9)] = []gate.Finding{{Check: gate.CheckAttestation, Message: "no vuln attestation"}}
			return f
		}, verdict: gate.VerdictFail,
		wants: []want{v(gate.CheckAttestation, "r.example/out:9", "no vuln attestation"), v(gate.CheckImageReference, "bad ref!", "not a valid image reference")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := gate.Options{}
			var f *fakeVerifier
			if tt.verifier != nil {
				f = tt.verifier()
				opts.Verifier = f
			}
			objs := objects(t, in)
			l, _ := local.New(objs)
			opts.Resolver = l
			rep := gate.New(opts).Verify(context.Background(), spec(tt.policy), gate.Input{Objects: objs, Images: tt.images})
			expect(t, rep, tt.verdict, tt.wants...)
			if f != nil && tt.name == "no registry rules: no registry call" && len(f.resolveCalls) != 0 {
				t.Errorf("registry called without registry rules: %v", f.resolveCalls)
			}
		})
	}
}

func TestCancelledContextIsAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	objs := objects(t, manyImages)
	l, _ := local.New(objs)
	rep := gate.New(gate.Options{Resolver: l, Verifier: fakeForMany()}).Verify(ctx, spec(signing), gate.Input{Objects: objs})
	if rep.Verdict != gate.VerdictError {
		t.Fatalf("verdict = %s, want error; report %+v", rep.Verdict, rep)
	}
}

func TestBundleOrchestration(t *testing.T) {
	tag := "registry.example.com/cat/build:1"
	dig := digest("registry.example.com/cat/build", 7)
	pdig := digest("registry.example.com/cat/pipe", 8)
	in := `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr, namespace: ci}
spec:
  pipelineRef: {resolver: bundles, params: [{name: bundle, value: "` + pdig + `"}, {name: name, value: p}]}
`
	pipeline := objects(t, `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
  - {name: a, taskRef: {resolver: bundles, params: [{name: bundle, value: "`+tag+`"}, {name: name, value: t}]}}
  - {name: b, taskRef: {resolver: bundles, params: [{name: bundle, value: "`+tag+`"}, {name: name, value: t}]}}
  - {name: c, taskRef: {resolver: bundles, params: [{name: bundle, value: "`+dig+`"}, {name: name, value: t}]}}
`)[0]
	task := objects(t, "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: alpine}]}\n")[0]
	bundlePolicy := func(s *v1alpha1.SecurityGateSpec) {
		privileged(s)
		s.Bundles = &v1alpha1.BundlePolicy{Authorities: []string{"release"}}
	}
	newRes := func() *bundleResolver {
		l, _ := local.New(nil)
		return &bundleResolver{local: l, objects: map[string]runtime.Object{pdig + "|p": pipeline, dig + "|t": task}}
	}

	t.Run("verifier pins each tag once and reads at the digest", func(t *testing.T) {
		f := newFakeVerifier()
		f.digests[tag] = dig
		f.bundleFind[dig] = []gate.Finding{{Check: gate.CheckBundleSignature, Subject: gate.ImageSubject(dig), Message: "signed by an unknown key", Severity: gate.SeverityViolation}}
		res := newRes()
		rep := verify(t, spec(bundlePolicy), in, gate.Options{Resolver: res, Verifier: f})
		expect(t, rep, gate.VerdictFail, v(gate.CheckBundleSignature, dig, "signed by an unknown key"))
		if f.resolveCalls[tag] != 1 {
			t.Errorf("tag resolved %d times, want 1", f.resolveCalls[tag])
		}
		if f.bundleCalls[dig] != 1 || f.bundleCalls[pdig] != 1 || len(f.bundleCalls) != 2 {
			t.Errorf("VerifyBundle calls = %v, want one per digest", f.bundleCalls)
		}
		for _, a := range res.asks {
			if a.Bundle != dig && a.Bundle != pdig {
				t.Errorf("Resolve asked with bundle %q, want the digest form", a.Bundle)
			}
		}
		if rep.Summary.Bundles != 3 || rep.Summary.Tasks != 3 {
			t.Errorf("summary = %+v", rep.Summary)
		}
	})
	t.Run("BundlePinner is preferred over the verifier", func(t *testing.T) {
		f := newFakeVerifier()
		p := &pinningResolver{bundleResolver: newRes(), pins: map[string]string{tag: dig, dig: dig, pdig: pdig}}
		rep := verify(t, spec(bundlePolicy), in, gate.Options{Resolver: p, Verifier: f})
		expect(t, rep, gate.VerdictPass)
		if len(f.resolveCalls) != 0 {
			t.Errorf("verifier resolved %v although the resolver pins", f.resolveCalls)
		}
		if p.n.Load() == 0 {
			t.Error("PinBundle never called")
		}
	})
	t.Run("pinner failure: could not decide, filed as unresolved, not registry", func(t *testing.T) {
		f := newFakeVerifier()
		forbidden := fmt.Errorf("listing resolutionrequests in ci: forbidden")
		p := &pinningResolver{bundleResolver: newRes(), err: forbidden}
		rep := verify(t, spec(bundlePolicy), in, gate.Options{Resolver: p, Verifier: f})
		if rep.Verdict != gate.VerdictError || len(rep.Errors) == 0 {
			t.Fatalf("report = %+v, want could not decide", rep)
		}
		for _, e := range rep.Errors {
			if e.Check != gate.CheckUnresolved || !strings.Contains(e.Message, "forbidden") {
				t.Errorf("error finding = %+v, want check %q naming the resolver's error", e, gate.CheckUnresolved)
			}
		}
		if len(f.resolveCalls) != 0 || len(f.bundleCalls) != 0 {
			t.Errorf("verifier used (%v, %v) although pinning failed", f.resolveCalls, f.bundleCalls)
		}
	})
	t.Run("no verifier with bundle authorities: fail closed", func(t *testing.T) {
		rep := verify(t, spec(bundlePolicy), in, gate.Options{Resolver: newRes()})
		if rep.Verdict != gate.VerdictFail || rep.Violations[0].Check != gate.CheckUnresolved {
			t.Fatalf("report = %+v, want unresolved violations", rep)
		}
	})
	t.Run("bundle verification error: could not decide", func(t *testing.T) {
		f := newFakeVerifier()
		f.digests[tag] = dig
		f.verifyErr[dig] = transient.Mark(fmt.Errorf("connection reset"))
		rep := verify(t, spec(bundlePolicy), in, gate.Options{Resolver: newRes(), Verifier: f})
		if rep.Verdict != gate.VerdictError || len(rep.Errors) == 0 || !rep.Errors[0].Transient {
			t.Fatalf("report = %+v, want a transient error", rep)
		}
	})
}
