package main

import (
	"context"
	"reflect"
	"runtime"
	"strings"

	"k8s.io/client-go/rest"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
)

// startedInformers are the only informers the controller starts: exactly the
// objects its RBAC (config/200-clusterrole.yaml) lets it list and watch.
//
// Why a list at all: knative starts every informer whose package is linked
// into the binary, and the engine links Tekton's reconciler packages for
// their parameter substitution, which register TaskRun, Pod, Secret,
// LimitRange and VerificationPolicy informers the controller never reads.
// Starting them would need cluster-wide list/watch on Secrets and Pods (far
// beyond least privilege), and without that RBAC they never sync and the
// controller never becomes ready. They are still injected into the context
// (so nothing panics), just never started.
var startedInformers = []string{
	"github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/pipelinerun.",
	"github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/pipeline.",
	"github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1/task.",
	"github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1beta1/customrun.",
	"github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1beta1/stepaction.",
	"github.com/tektoncd/pipeline/pkg/client/resolution/injection/informers/resolution/v1beta1/resolutionrequest.",
	"github.com/security-gate/security-gate/pkg/client/injection/informers/securitygate/v1alpha1/clustersecuritygate.",
	"github.com/security-gate/security-gate/pkg/client/injection/informers/securitygate/v1alpha1/securitygate.",
}

// allowlisted wraps knative's injection registry so SetupInformers returns
// (and sharedmain therefore starts) only the startedInformers. Everything
// else (clients, factories, ducks) behaves as in knative's implementation.
type allowlisted struct {
	injection.Interface
}

func injectorName(f any) string {
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}

func started(name string) bool {
	for _, p := range startedInformers {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (a allowlisted) SetupInformers(ctx context.Context, cfg *rest.Config) (context.Context, []controller.Informer) {
	for _, ci := range a.GetClients() {
		ctx = ci(ctx, cfg)
	}
	for _, ifi := range a.GetInformerFactories() {
		ctx = ifi(ctx)
	}
	for _, duck := range a.GetDucks() {
		ctx = duck(ctx)
	}
	var informers []controller.Informer
	for _, ii := range a.GetInformers() {
		var inf controller.Informer
		ctx, inf = ii(ctx)
		if started(injectorName(ii)) {
			informers = append(informers, inf)
		}
	}
	for _, fii := range a.GetFilteredInformers() {
		var infs []controller.Informer
		ctx, infs = fii(ctx)
		if started(injectorName(fii)) {
			informers = append(informers, infs...)
		}
	}
	return ctx, informers
}
