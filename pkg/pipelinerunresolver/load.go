package pipelinerunresolver

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	resversioned "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/transient"
)

// ErrPipelineSpecPending means the PipelineRun's status.pipelineSpec is not
// set yet: Tekton has not finished resolving the pipeline, so what will run
// is not known. It is transient (pkg/transient): the controller waits for
// the PipelineRun to change, the CLI reports "could not decide".
var ErrPipelineSpecPending = transient.Mark(errors.New("status.pipelineSpec is not set yet"))

// Input returns what the engine verifies for a PipelineRun: the run itself,
// copied (it may come from an informer cache), with its TypeMeta set since
// listers drop it, marked Live: the engine judges status.pipelineSpec, the
// pipeline Tekton recorded and runs, not whatever the pipelineRef names by
// now. References are loaded through a Resolver.
func Input(pr *v1.PipelineRun, images []string) gate.Input {
	in := gate.Input{Images: append([]string(nil), images...)}
	if pr != nil {
		c := pr.DeepCopy()
		c.APIVersion, c.Kind = "tekton.dev/v1", "PipelineRun"
		in.Objects = []runtime.Object{c}
		in.Live = true
	}
	return in
}

// NewClients returns a clientset-backed Source for a REST config.
func NewClients(cfg *rest.Config) (*Clients, error) {
	t, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("tekton client: %w", err)
	}
	r, err := resversioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("tekton resolution client: %w", err)
	}
	return &Clients{Tekton: t, Resolution: r}, nil
}

// ForPipelineRun reads the PipelineRun namespace/name through src and
// returns the engine's Input (with images as extra artifacts) and a Resolver
// that resolves its references exactly as the controller does. It is the
// entry point of `security-gate verify --pipelinerun`.
func ForPipelineRun(ctx context.Context, src Source, namespace, name string, images []string) (gate.Input, *Resolver, error) {
	pr, err := src.PipelineRun(ctx, namespace, name)
	if err != nil {
		return gate.Input{}, nil, fmt.Errorf("reading pipelinerun/%s/%s: %w", namespace, name, err)
	}
	if pr.Status.PipelineSpec == nil {
		return gate.Input{}, nil, fmt.Errorf("pipelinerun/%s/%s: %w", namespace, name, ErrPipelineSpecPending)
	}
	return Input(pr, images), New(src, namespace, pr), nil
}
