package customrun

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/authn/k8schain"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	pipelineclient "github.com/tektoncd/pipeline/pkg/client/injection/client"
	pipelineinformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/pipeline"
	pipelineruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/pipelinerun"
	taskinformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/task"
	taskruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/taskrun"
	runinformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1beta1/customrun"
	stepactioninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1beta1/stepaction"
	customrunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1beta1/customrun"
	v1beta1listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	resolutionrequestinformer "github.com/tektoncd/pipeline/pkg/client/resolution/injection/informers/resolution/v1beta1/resolutionrequest"
	tkncontroller "github.com/tektoncd/pipeline/pkg/controller"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/system"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/pkg/verify"
)

// ControllerName is the agent name on Events and the component name.
const ControllerName = "security-gate-controller"

// Options are the dependencies NewController does not take from injection.
// Zero values select the production implementations.
type Options struct {
	Clock clock.PassiveClock
	// Policies reads policies; default: informer listers (generated clients).
	Policies policyload.Getter
	// NewEngine builds the engine; default gate.New.
	NewEngine func(gate.Options) Engine
	// NewVerifier builds the registry verifier; default pkg/verify with the
	// shared cache sized by config-security-gate.
	NewVerifier VerifierFactory
	// Keychain returns registry credentials; default k8schain.
	Keychain KeychainFactory
	// TrustRoots supplies Sigstore trust roots to the default verifier;
	// default: one pool for the process (trustroots.go).
	TrustRoots *trustroot.Pool
}

// Filter selects the CustomRuns of both gate kinds (customRef or customSpec).
func Filter(obj interface{}) bool {
	return tkncontroller.FilterCustomRunRef(APIVersion, v1alpha1.KindClusterSecurityGate)(obj) ||
		tkncontroller.FilterCustomRunRef(APIVersion, v1alpha1.KindSecurityGate)(obj)
}

// NewController returns the constructor sharedmain runs.
func NewController(opts Options) func(context.Context, configmap.Watcher) *controller.Impl {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		impl, _ := newImpl(ctx, cmw, opts)
		return impl
	}
}

func newImpl(ctx context.Context, cmw configmap.Watcher, opts Options) (*controller.Impl, *Reconciler) {
	logger := logging.FromContext(ctx)
	kube := kubeclient.Get(ctx)
	src := &pipelinerunresolver.Listers{
		PipelineRunLister:       pipelineruninformer.Get(ctx).Lister(),
		PipelineLister:          pipelineinformer.Get(ctx).Lister(),
		TaskLister:              taskinformer.Get(ctx).Lister(),
		StepActionLister:        stepactioninformer.Get(ctx).Lister(),
		ResolutionRequestLister: resolutionrequestinformer.Get(ctx).Lister(),
	}
	caches := &cacheHolder{}
	r := &Reconciler{
		Clock:           opts.Clock,
		Source:          src,
		Policies:        opts.Policies,
		NewEngine:       opts.NewEngine,
		NewVerifier:     opts.NewVerifier,
		Keychain:        opts.Keychain,
		SystemNamespace: system.Namespace(),
		BaseContext:     ctx,
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	r.verifications = newVerifications(r.Clock)
	if r.Policies == nil {
		r.Policies = NewListerPolicyGetter(ctx)
	}
	if r.NewEngine == nil {
		r.NewEngine = func(o gate.Options) Engine { return gate.New(o) }
	}
	if r.Keychain == nil {
		r.Keychain = cachedKeychains(K8sChain(kube, system.Namespace(), controllerServiceAccount()), r.Clock)
	}
	r.SummaryKeys = SecretSummaryKeys(kube)
	taskRuns := taskruninformer.Get(ctx)
	r.TaskRuns = func(ns string, sel labels.Selector) ([]*pipelinev1.TaskRun, error) {
		return taskRuns.Lister().TaskRuns(ns).List(sel)
	}
	tekton := pipelineclient.Get(ctx)
	r.LiveRun = func(ctx context.Context, ns, name string) (*v1beta1.CustomRun, error) {
		return tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if r.NewVerifier == nil {
		roots := opts.TrustRoots
		if roots == nil {
			var err error
			if roots, err = newTrustRoots(ctx, logger, r.Clock); err != nil {
				logger.Errorw("no Sigstore trust roots: keyless authorities cannot decide", "error", err)
			}
		}
		r.NewVerifier = defaultVerifier(kube, caches, r.Clock, roots)
	}
	m, err := newMetrics(nil, caches.stats)
	if err != nil {
		logger.Errorw("metrics disabled", "error", err)
	}
	r.metrics = m

	store := config.NewStore(logger.Named("config-store"))
	store.WatchConfigs(cmw)

	impl := customrunreconciler.NewImpl(ctx, r, func(*controller.Impl) controller.Options {
		return controller.Options{
			AgentName:   ControllerName,
			ConfigStore: store,
			// Without it a newly elected leader enqueues every CustomRun
			// of the cluster, not only the gate's.
			PromoteFilterFunc: Filter,
		}
	})
	r.Enqueue = impl.EnqueueKey
	if _, err := runinformer.Get(ctx).Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: Filter,
		Handler:    controller.HandleAll(impl.Enqueue),
	}); err != nil {
		logger.Panicf("registering the CustomRun event handler: %v", err)
	}
	// A gate waits for its PipelineRun's status.pipelineSpec: wake it when
	// the PipelineRun changes instead of waiting for the next poll.
	runLister := runinformer.Get(ctx).Lister()
	if _, err := pipelineruninformer.Get(ctx).Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj interface{}) { enqueueGatesOf(obj, runLister, impl.Enqueue) },
	}); err != nil {
		logger.Panicf("registering the PipelineRun event handler: %v", err)
	}
	// A gate whose policy has spec.provenance waits for the TaskRuns that
	// built its images and for Tekton Chains' annotation on them (builds.go):
	// wake it when one of its PipelineRun's TaskRuns changes.
	if _, err := taskRuns.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { enqueueGatesOfTaskRun(obj, runLister, impl.Enqueue) },
		UpdateFunc: func(_, obj interface{}) { enqueueGatesOfTaskRun(obj, runLister, impl.Enqueue) },
	}); err != nil {
		logger.Panicf("registering the TaskRun event handler: %v", err)
	}
	return impl, r
}

// enqueueGatesOf enqueues the unfinished gate CustomRuns a PipelineRun owns
// (found by Tekton's tekton.dev/pipelineRun label in its namespace).
func enqueueGatesOf(obj interface{}, runs v1beta1listers.CustomRunLister, enqueue func(interface{})) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return
	}
	sel := labels.SelectorFromSet(labels.Set{pipeline.PipelineRunLabelKey: pr.Name})
	list, err := runs.CustomRuns(pr.Namespace).List(sel)
	if err != nil {
		return // the periodic re-check still finds it
	}
	for _, run := range list {
		if Filter(run) && !run.IsDone() && metav1.IsControlledBy(run, pr) {
			enqueue(run)
		}
	}
}

// controllerServiceAccount is the controller's own service account, whose
// imagePullSecrets are the last registry credentials tried.
func controllerServiceAccount() string {
	if sa := os.Getenv("SERVICE_ACCOUNT_NAME"); sa != "" {
		return sa
	}
	return "security-gate-controller"
}

// K8sChain returns a KeychainFactory: the run's service account and
// imagePullSecrets in the run's namespace first, then the controller's own
// service account in its namespace (and the cloud helpers k8schain adds).
// API trouble reading them is transient.
func K8sChain(kube kubernetes.Interface, systemNamespace, controllerSA string) KeychainFactory {
	return func(ctx context.Context, ns, sa string, pullSecrets []string) (authn.Keychain, error) {
		run, err := k8schain.New(ctx, kube, k8schain.Options{Namespace: ns, ServiceAccountName: sa, ImagePullSecrets: pullSecrets})
		if err != nil {
			return nil, transient.API(err)
		}
		own, err := k8schain.New(ctx, kube, k8schain.Options{Namespace: systemNamespace, ServiceAccountName: controllerSA})
		if err != nil {
			return nil, fmt.Errorf("controller credentials (serviceaccount %s/%s): %w", systemNamespace, controllerSA, transient.API(err))
		}
		return authn.NewMultiKeychain(run, own), nil
	}
}

// DefaultVerifier builds pkg/verify verifiers sharing one cache, whose
// secretRefs are read only in the namespace the policy kind allows
// (policyload.SecretKeys).
func DefaultVerifier(kube kubernetes.Interface, caches *cacheHolder, clk clock.PassiveClock) VerifierFactory {
	return defaultVerifier(kube, caches, clk, nil)
}

// defaultVerifier is DefaultVerifier with the process's Sigstore trust roots.
func defaultVerifier(kube kubernetes.Interface, caches *cacheHolder, clk clock.PassiveClock, roots *trustroot.Pool) VerifierFactory {
	return func(ctx context.Context, req VerifierRequest) (gate.ArtifactVerifier, error) {
		return verify.New(&req.Policy.Spec, verify.Options{
			// One pool of Sigstore trust roots for every run (trustroots.go).
			TrustRoots: roots,
			PublicTUF:  req.Config.SigstoreTUF(),

			Keychain:   req.Keychain,
			Timeout:    req.Config.RegistryTimeout,
			Now:        clk.Now,
			Cache:      caches.get(req.Config.CacheSize, req.Config.CacheTTL),
			Context:    ctx,
			SecretKeys: policyload.SecretKeys(kube.CoreV1(), req.Policy),
		})
	}
}

// cacheHolder keeps one verification cache, rebuilt when its size or TTL
// changes in config-security-gate.
type cacheHolder struct {
	mu   sync.Mutex
	c    *verify.Cache
	size int
	ttl  time.Duration
}

func (h *cacheHolder) get(size int, ttl time.Duration) *verify.Cache {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c == nil || h.size != size || h.ttl != ttl {
		h.c, h.size, h.ttl = verify.NewCache(size, ttl), size, ttl
	}
	return h.c
}

func (h *cacheHolder) stats() (int64, int64) {
	h.mu.Lock()
	c := h.c
	h.mu.Unlock()
	if c == nil {
		return 0, 0
	}
	s := c.Stats()
	return s.Hits, s.Misses
}
