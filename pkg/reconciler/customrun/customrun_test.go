package customrun

import (
	"context"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	_ "github.com/tektoncd/pipeline/pkg/client/resolution/injection/informers/resolution/v1beta1/resolutionrequest/fake"
	ttesting "github.com/tektoncd/pipeline/pkg/reconciler/testing"
	"github.com/tektoncd/pipeline/test"
	"github.com/tektoncd/pipeline/test/parse"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	cminformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"
	_ "knative.dev/pkg/system/testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// fakePolicies is a policyload.Getter over maps; err, when set, is every
// read's answer.
type fakePolicies struct {
	cluster    map[string]*v1alpha1.ClusterSecurityGate
	namespaced map[string]*v1alpha1.SecurityGate // ns/name
	err        error
}

func (f *fakePolicies) ClusterSecurityGate(_ context.Context, name string) (*v1alpha1.ClusterSecurityGate, error) {
	if f.err != nil {
		return nil, f.err
	}
	if g, ok := f.cluster[name]; ok {
		return g, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: "securitygate.dev", Resource: "clustersecuritygates"}, name)
}

func (f *fakePolicies) SecurityGate(_ context.Context, ns, name string) (*v1alpha1.SecurityGate, error) {
	if f.err != nil {
		return nil, f.err
	}
	if g, ok := f.namespaced[ns+"/"+name]; ok {
		return g, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: "securitygate.dev", Resource: "securitygates"}, name)
}

// fakeEngine returns scripted reports in order (the last one repeats) and
// records what it was given. With block set, Verify waits for ctx.
type fakeEngine struct {
	mu      sync.Mutex
	reports []*gate.Report
	block   bool
	calls   int
	opts    []gate.Options
	inputs  []gate.Input
	specs   []*v1alpha1.SecurityGateSpec
}

type engineCall struct {
	f    *fakeEngine
	opts gate.Options
}

func (f *fakeEngine) New(o gate.Options) Engine { return &engineCall{f: f, opts: o} }

func (c *engineCall) Verify(ctx context.Context, spec *v1alpha1.SecurityGateSpec, in gate.Input) *gate.Report {
	f := c.f
	f.mu.Lock()
	f.calls++
	f.opts = append(f.opts, c.opts)
	f.inputs = append(f.inputs, in)
	f.specs = append(f.specs, spec)
	i := min(f.calls-1, len(f.reports)-1)
	block := f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return &gate.Report{Verdict: gate.VerdictError, Errors: []gate.Finding{{Check: gate.CheckRegistry, Message: ctx.Err().Error(), Transient: true}}}
	}
	return f.reports[i]
}

type fakeVerifier struct{}

func (fakeVerifier) ResolveDigest(_ context.Context, ref string) (string, error) {
	if strings.Contains(ref, "@sha256:") {
		return ref, nil
	}
	return "", fmt.Errorf("%s: not pinned and no registry in unit tests", ref)
}
func (fakeVerifier) VerifyBundle(context.Context, string) ([]gate.Finding, error) {
	return nil, nil
}
func (fakeVerifier) VerifyImage(context.Context, gate.ImageTarget) (gate.ImageResult, error) {
	return gate.ImageResult{}, nil
}

const strictPolicy = "strict"

func clusterGate(name string, mode v1alpha1.Mode) *v1alpha1.ClusterSecurityGate {
	return &v1alpha1.ClusterSecurityGate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.SecurityGateSpec{Mode: mode}}
}

func pipelineRun(t *testing.T, withSpec bool) *v1.PipelineRun {
	t.Helper()
	pr := parse.MustParseV1PipelineRun(t, `
metadata:
  name: release-42
  namespace: ci
  uid: pr-uid
spec:
  taskRunTemplate:
    serviceAccountName: builder
  pipelineSpec:
    tasks:
    - name: gate
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}
    - name: build
      runAfter: [gate]
      taskSpec:
        steps:
        - name: compile
          image: registry.example.com/go@sha256:0000000000000000000000000000000000000000000000000000000000000000
`)
	if withSpec {
		pr.Status.PipelineSpec = pr.Spec.PipelineSpec.DeepCopy()
	}
	return pr
}

const gateRunYAML = `
metadata:
  name: release-42-gate
  namespace: ci
  uid: run-uid
  labels:
    tekton.dev/pipelineRun: release-42
    tekton.dev/pipelineTask: gate
  ownerReferences:
  - apiVersion: tekton.dev/v1
    kind: PipelineRun
    name: release-42
    uid: pr-uid
    controller: true
spec:
  customRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}
  serviceAccountName: builder
  params:
  - name: images
    value: ["registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"]
`

func gateRun(t *testing.T, mutate ...func(*v1beta1.CustomRun)) *v1beta1.CustomRun {
	t.Helper()
	r := parse.MustParseCustomRun(t, gateRunYAML)
	for _, m := range mutate {
		m(r)
	}
	return r
}

var (
	passReport = &gate.Report{Verdict: gate.VerdictPass, Summary: gate.Summary{Tasks: 2, Images: 2},
		VerifiedImages: []string{"registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"}}
	failReport = &gate.Report{Verdict: gate.VerdictFail, Violations: []gate.Finding{
		{Check: gate.CheckImageSignature, Subject: gate.ImageSubject("registry.example.com/app@sha256:1111"), Message: "no signature by authority release"},
		{Check: gate.CheckSecurityContext, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build").WithStep("compile"), Message: "runAsNonRoot must be true"},
	}}
	warnReport = &gate.Report{Verdict: gate.VerdictWarn, Warnings: []gate.Finding{
		{Check: gate.CheckImageDigest, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build").WithStep("compile"), Message: "image is not pinned by digest (mode Warn)"},
	}}
	transientReport = &gate.Report{Verdict: gate.VerdictError, Errors: []gate.Finding{
		{Check: gate.CheckRegistry, Subject: gate.ImageSubject("registry.example.com/app"), Message: "503 Service Unavailable", Transient: true},
	}}
	failWithTransientReport = &gate.Report{Verdict: gate.VerdictFail, Violations: failReport.Violations, Errors: transientReport.Errors}
	permanentErrReport      = &gate.Report{Verdict: gate.VerdictError, Errors: []gate.Finding{
		{Check: gate.CheckPolicy, Subject: gate.TextSubject("ClusterSecurityGate/strict"), Message: "secret cosign-pub not found"},
	}}
)

type harness struct {
	assets test.Assets
	r      *Reconciler
	clock  *clocktesting.FakeClock
	engine *fakeEngine
}

func newHarness(t *testing.T, d test.Data, cfg map[string]string, policies *fakePolicies, eng *fakeEngine, keychainErr error) *harness {
	t.Helper()
	ctx, _ := ttesting.SetupFakeContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	d.ConfigMaps = append(d.ConfigMaps, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: config.Name, Namespace: system.Namespace()}, Data: cfg})
	c, informers := test.SeedTestData(t, ctx, d)
	clk := clocktesting.NewFakeClock(testNow)
	cmw := cminformer.NewInformedWatcher(c.Kube, system.Namespace())
	impl, r := newImpl(ctx, cmw, Options{
		Clock:     clk,
		Policies:  policies,
		NewEngine: eng.New,
		NewVerifier: func(context.Context, VerifierRequest) (gate.ArtifactVerifier, error) {
			return fakeVerifier{}, nil
		},
		Keychain: func(context.Context, string, string, []string) (authn.Keychain, error) {
			if keychainErr != nil {
				return nil, keychainErr
			}
			return authn.NewMultiKeychain(), nil
		},
	})
	r.Enqueue = func(types.NamespacedName) {}
	if la, ok := impl.Reconciler.(reconciler.LeaderAware); ok {
		if err := la.Promote(reconciler.UniversalBucket(), func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmw.Start(ctx.Done()); err != nil {
		t.Fatal(err)
	}
	return &harness{assets: test.Assets{Controller: impl, Clients: c, Informers: informers, Ctx: ctx,
		Recorder: controller.GetEventRecorder(ctx).(*record.FakeRecorder)}, r: r, clock: clk, engine: eng}
}

const runKey = "ci/release-42-gate"

// reconcile runs one reconcile and returns the stored CustomRun.
func (h *harness) reconcile(t *testing.T) (*v1beta1.CustomRun, error) {
	t.Helper()
	err := h.assets.Controller.Reconciler.Reconcile(h.assets.Ctx, runKey)
	run, gerr := h.assets.Clients.Pipeline.TektonV1beta1().CustomRuns("ci").Get(h.assets.Ctx, "release-42-gate", metav1.GetOptions{})
	if gerr != nil {
		t.Fatal(gerr)
	}
	return run, err
}

// settle reconciles until the run is done or nothing would change, as the
// workqueue would: between reconciles it waits for the verification in
// flight (a channel, not a timer), else lets the requeue's delay pass on the
// fake clock. It returns the run and the last reconcile's error.
func (h *harness) settle(t *testing.T, maxSteps int) (*v1beta1.CustomRun, error) {
	t.Helper()
	return h.settleKey(t, runKey, maxSteps)
}

// settleKey is settle for the CustomRun named key (namespace/name).
// Between reconciles a verification in flight is awaited (the next
// reconcile collects it: no time passes meanwhile).
func (h *harness) settleKey(t *testing.T, key string, maxSteps int) (*v1beta1.CustomRun, error) {
	t.Helper()
	ns, name, _ := strings.Cut(key, "/")
	var run *v1beta1.CustomRun
	var err error
	for i := 0; i < maxSteps; i++ {
		err = h.assets.Controller.Reconciler.Reconcile(h.assets.Ctx, key)
		var gerr error
		run, gerr = h.assets.Clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(h.assets.Ctx, name, metav1.GetOptions{})
		if gerr != nil {
			t.Fatal(gerr)
		}
		if run.IsDone() {
			return run, err
		}
		if v := h.uncollected(run); v != nil {
			<-v.done
			continue
		}
		if ok, after := controller.IsRequeueKey(err); ok && i+1 < maxSteps {
			h.clock.Step(after)
			continue
		}
		return run, err
	}
	return run, err
}

// inFlight is the run's verification still running, or nil.
func (h *harness) inFlight(run *v1beta1.CustomRun) *verification {
	v := h.r.verifications.current(run.UID, len(run.Status.RetriesStatus))
	if v == nil || v.finishedYet() {
		return nil
	}
	return v
}

// uncollected is the run's verification whose report no reconcile has read
// yet (it may still be running), or nil.
func (h *harness) uncollected(run *v1beta1.CustomRun) *verification {
	v := h.r.verifications.current(run.UID, len(run.Status.RetriesStatus))
	if v == nil || v.collected {
		return nil
	}
	return v
}

func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.assets.Recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func resultsMap(run *v1beta1.CustomRun) map[string]string {
	m := map[string]string{}
	for _, r := range run.Status.Results {
		m[r.Name] = r.Value
	}
	return m
}

type authnKeychain = authn.Keychain

func emptyKeychain() authn.Keychain { return authn.NewMultiKeychain() }

func cmpDiff(want, got any) string { return cmp.Diff(want, got) }
