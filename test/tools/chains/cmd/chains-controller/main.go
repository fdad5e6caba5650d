// Command chains-controller is Tekton Chains' controller (github.com/tektoncd/chains
// at the version pinned in this module) with one difference: the directory
// it reads its signing key from is a flag.
//
// Upstream reads the key from files in the constant directory
// /etc/signing-secrets (the Deployment mounts the signing-secrets Secret
// there), never from the API. Out of a cluster that directory would be
// shared by the whole machine and need root to write; the e2e suite instead
// gives this one process its own key directory. Everything else is chains'
// own code: the same reconcilers, signers, formats, storage backends, config
// store, finalizer names, informer filters and flags (-namespace,
// -threads-per-controller, -kubeconfig, ...); only the two controller
// constructors, which hard-wire the key directory, are written here.
package main

import (
	"context"
	"flag"
	"strings"

	"github.com/tektoncd/chains/pkg/chains"
	"github.com/tektoncd/chains/pkg/chains/storage"
	"github.com/tektoncd/chains/pkg/config"
	"github.com/tektoncd/chains/pkg/pipelinerunmetrics"
	"github.com/tektoncd/chains/pkg/reconciler"
	prreconciler "github.com/tektoncd/chains/pkg/reconciler/pipelinerun"
	trreconciler "github.com/tektoncd/chains/pkg/reconciler/taskrun"
	"github.com/tektoncd/chains/pkg/taskrunmetrics"
	pipelineclient "github.com/tektoncd/pipeline/pkg/client/injection/client"
	pipelineruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/pipelinerun"
	taskruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/taskrun"
	pipelinerunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1/pipelinerun"
	taskrunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1/taskrun"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/signals"

	// Every payload format, and the same providers and KMS plugins as the
	// upstream binary links.
	_ "github.com/sigstore/cosign/v2/pkg/providers/all"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
	_ "github.com/tektoncd/chains/pkg/chains/formats/all"
)

func main() {
	flag.IntVar(&controller.DefaultThreadsPerController, "threads-per-controller", controller.DefaultThreadsPerController,
		"threads (goroutines) per controller")
	nsList := flag.String("namespace", "", "comma-separated namespaces to watch; empty: all")
	keyDir := flag.String("signing-secrets", trreconciler.SecretPath,
		"directory holding the signing key files (x509.pem, or cosign.key and cosign.password)")
	cfg := injection.ParseAndGetRESTConfigOrDie() // parses the flags

	ctx := signals.NewContext()
	var namespaces []string
	if s := strings.ReplaceAll(*nsList, " ", ""); s != "" {
		namespaces = strings.Split(s, ",")
		logging.FromContext(ctx).Infof("watching only the namespaces %v", namespaces)
	}
	logging.FromContext(ctx).Infof("signing key directory: %s", *keyDir)

	// Two controllers share the client, as upstream's main sizes it.
	if cfg.QPS == 0 {
		cfg.QPS = 2 * rest.DefaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = rest.DefaultBurst
	}
	cfg.QPS, cfg.Burst = 2*cfg.QPS, 2*cfg.Burst

	sharedmain.MainWithConfig(ctx, "watcher", cfg,
		taskRunController(namespaces, *keyDir),
		pipelineRunController(namespaces, *keyDir))
}

// storeFor returns the chains-config store that (re)initialises signer's
// storage backends whenever the ConfigMap changes, as chains does.
func storeFor(ctx context.Context, signer *chains.ObjectSigner, cmw configmap.Watcher) *config.ConfigStore {
	logger := logging.FromContext(ctx)
	stop := make(chan bool)
	store := config.NewConfigStore(logger, func(_ string, value any) {
		select {
		case stop <- true: // end the previous WatchBackends
		default:
		}
		cfg := *value.(*config.Config)
		backends, err := storage.InitializeBackends(ctx, signer.Pipelineclientset, kubeclient.Get(ctx), cfg)
		if err != nil {
			logger.Error(err)
		}
		signer.Backends = backends
		if err := storage.WatchBackends(ctx, stop, signer.Backends, cfg); err != nil {
			logger.Error(err)
		}
	})
	store.WatchConfigs(cmw)
	return store
}

func taskRunController(namespaces []string, keyDir string) injection.ControllerConstructor {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		signer := &chains.ObjectSigner{
			SecretPath:        keyDir,
			Pipelineclientset: pipelineclient.Get(ctx),
			Recorder:          taskrunmetrics.Get(ctx),
		}
		r := &trreconciler.Reconciler{TaskRunSigner: signer, Pipelineclientset: signer.Pipelineclientset}
		impl := taskrunreconciler.NewImpl(ctx, r, func(*controller.Impl) controller.Options {
			return controller.Options{
				SkipStatusUpdates: true, // chains only annotates
				ConfigStore:       storeFor(ctx, signer, cmw),
				FinalizerName:     "chains.tekton.dev/taskrun",
			}
		})
		if _, err := taskruninformer.Get(ctx).Informer().AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: reconciler.TaskRunInformerFilterFunc(namespaces),
			Handler:    controller.HandleAll(impl.Enqueue),
		}); err != nil {
			logging.FromContext(ctx).Errorf("taskrun event handler: %v", err)
		}
		return impl
	}
}

func pipelineRunController(namespaces []string, keyDir string) injection.ControllerConstructor {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		trInformer := taskruninformer.Get(ctx)
		signer := &chains.ObjectSigner{
			SecretPath:        keyDir,
			Pipelineclientset: pipelineclient.Get(ctx),
			Recorder:          pipelinerunmetrics.Get(ctx),
		}
		r := &prreconciler.Reconciler{
			PipelineRunSigner: signer,
			Pipelineclientset: signer.Pipelineclientset,
			TaskRunLister:     trInformer.Lister(),
		}
		impl := pipelinerunreconciler.NewImpl(ctx, r, func(*controller.Impl) controller.Options {
			return controller.Options{
				SkipStatusUpdates: true,
				ConfigStore:       storeFor(ctx, signer, cmw),
				FinalizerName:     "chains.tekton.dev/pipelinerun",
			}
		})
		r.Tracker = impl.Tracker
		logger := logging.FromContext(ctx)
		if _, err := pipelineruninformer.Get(ctx).Informer().AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: reconciler.PipelineRunInformerFilterFunc(namespaces),
			Handler:    controller.HandleAll(impl.Enqueue),
		}); err != nil {
			logger.Errorf("pipelinerun event handler: %v", err)
		}
		// A PipelineRun waits for its TaskRuns to be signed: wake it when one changes.
		if _, err := trInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: reconciler.TaskRunInformerFilterFuncWithOwnership(namespaces),
			Handler:    controller.HandleAll(impl.EnqueueControllerOf),
		}); err != nil {
			logger.Errorf("pipelinerun's taskrun event handler: %v", err)
		}
		return impl
	}
}
