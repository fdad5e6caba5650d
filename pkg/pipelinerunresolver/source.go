package pipelinerunresolver

import (
	"context"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	resv1beta1 "github.com/tektoncd/pipeline/pkg/apis/resolution/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	listersv1 "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	listersv1beta1 "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	resversioned "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned"
	reslisters "github.com/tektoncd/pipeline/pkg/client/resolution/listers/resolution/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/security-gate/security-gate/pkg/transient"
)

// Source reads the Tekton objects of one namespace. Errors are returned as
// the API server or lister gives them (apierrors.IsNotFound works on them),
// marked transient (pkg/transient) when asking again may answer.
type Source interface {
	PipelineRun(ctx context.Context, namespace, name string) (*v1.PipelineRun, error)
	Pipeline(ctx context.Context, namespace, name string) (*v1.Pipeline, error)
	Task(ctx context.Context, namespace, name string) (*v1.Task, error)
	StepAction(ctx context.Context, namespace, name string) (*v1beta1.StepAction, error)
	ResolutionRequest(ctx context.Context, namespace, name string) (*resv1beta1.ResolutionRequest, error)
	ResolutionRequests(ctx context.Context, namespace string) ([]*resv1beta1.ResolutionRequest, error)
}

// Listers is a Source backed by informer listers (the controller). Objects
// returned by listers are shared with the informer cache: the Resolver never
// mutates them and deep-copies what it hands to the engine.
type Listers struct {
	PipelineRunLister       listersv1.PipelineRunLister
	PipelineLister          listersv1.PipelineLister
	TaskLister              listersv1.TaskLister
	StepActionLister        listersv1beta1.StepActionLister
	ResolutionRequestLister reslisters.ResolutionRequestLister
}

var _ Source = (*Listers)(nil)

func (l *Listers) PipelineRun(_ context.Context, ns, name string) (*v1.PipelineRun, error) {
	return l.PipelineRunLister.PipelineRuns(ns).Get(name)
}

func (l *Listers) Pipeline(_ context.Context, ns, name string) (*v1.Pipeline, error) {
	return l.PipelineLister.Pipelines(ns).Get(name)
}

func (l *Listers) Task(_ context.Context, ns, name string) (*v1.Task, error) {
	return l.TaskLister.Tasks(ns).Get(name)
}

func (l *Listers) StepAction(_ context.Context, ns, name string) (*v1beta1.StepAction, error) {
	return l.StepActionLister.StepActions(ns).Get(name)
}

func (l *Listers) ResolutionRequest(_ context.Context, ns, name string) (*resv1beta1.ResolutionRequest, error) {
	return l.ResolutionRequestLister.ResolutionRequests(ns).Get(name)
}

func (l *Listers) ResolutionRequests(_ context.Context, ns string) ([]*resv1beta1.ResolutionRequest, error) {
	return l.ResolutionRequestLister.ResolutionRequests(ns).List(labels.Everything())
}

// Clients is a Source backed by clientsets (the CLI): every call is a GET or
// LIST against the API server.
type Clients struct {
	Tekton     versioned.Interface
	Resolution resversioned.Interface
}

var _ Source = (*Clients)(nil)

func (c *Clients) PipelineRun(ctx context.Context, ns, name string) (*v1.PipelineRun, error) {
	obj, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, transient.API(err)
}

func (c *Clients) Pipeline(ctx context.Context, ns, name string) (*v1.Pipeline, error) {
	obj, err := c.Tekton.TektonV1().Pipelines(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, transient.API(err)
}

func (c *Clients) Task(ctx context.Context, ns, name string) (*v1.Task, error) {
	obj, err := c.Tekton.TektonV1().Tasks(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, transient.API(err)
}

func (c *Clients) StepAction(ctx context.Context, ns, name string) (*v1beta1.StepAction, error) {
	obj, err := c.Tekton.TektonV1beta1().StepActions(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, transient.API(err)
}

func (c *Clients) ResolutionRequest(ctx context.Context, ns, name string) (*resv1beta1.ResolutionRequest, error) {
	obj, err := c.Resolution.ResolutionV1beta1().ResolutionRequests(ns).Get(ctx, name, metav1.GetOptions{})
	return obj, transient.API(err)
}

func (c *Clients) ResolutionRequests(ctx context.Context, ns string) ([]*resv1beta1.ResolutionRequest, error) {
	list, err := c.Resolution.ResolutionV1beta1().ResolutionRequests(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, transient.API(err)
	}
	out := make([]*resv1beta1.ResolutionRequest, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}
