package customrun

import (
	"context"
	"fmt"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/pkg/transient"
)

// pendingPoll is how often a run re-checks a PipelineRun whose pipelineSpec
// is not set yet (an update of the PipelineRun wakes it earlier).
const pendingPoll = 2 * time.Second

// owner returns the PipelineRun that owns run, ready to be judged: the one
// its tekton.dev/pipelineRun label names, confirmed by the controller
// ownerReference's UID (a label alone can be written by anyone who creates
// a CustomRun), with status.pipelineSpec recorded. nil, nil: no PipelineRun
// owns it (the run verifies its images only).
func (r *Reconciler) owner(ctx context.Context, run *v1beta1.CustomRun) (*v1.PipelineRun, error) {
	ref := metav1.GetControllerOf(run)
	isPR := ref != nil && ref.Kind == pipeline.PipelineRunControllerName
	name := run.Labels[pipeline.PipelineRunLabelKey]
	switch {
	case name == "" && !isPR:
		return nil, nil
	case name == "":
		name = ref.Name
	case !isPR:
		return nil, end(ReasonVerificationError, "%s: labelled %s=%s but its controller ownerReference is not a PipelineRun; refusing to judge a run by a PipelineRun that does not own it",
			runSubject(run), pipeline.PipelineRunLabelKey, name)
	}
	pr, err := r.Source.PipelineRun(ctx, run.Namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		// The informer has not delivered it yet.
		return nil, transient.Errorf("%s: owning pipelinerun/%s/%s not found (yet)", runSubject(run), run.Namespace, name)
	case err != nil:
		return nil, fmt.Errorf("%s: reading pipelinerun/%s/%s: %w", runSubject(run), run.Namespace, name, transient.API(err))
	case ref.Name != pr.Name || ref.UID != pr.UID:
		return nil, end(ReasonVerificationError, "%s: labelled %s=%s but owned by %s %q (uid %s), not by that PipelineRun (uid %s)",
			runSubject(run), pipeline.PipelineRunLabelKey, name, ref.Kind, ref.Name, ref.UID, pr.UID)
	case pr.Status.PipelineSpec == nil:
		// Tekton has not finished resolving the pipeline: what will run is
		// not known yet. Wait; never fail for it.
		return nil, waitFor(pendingPoll, "Waiting for pipelinerun/%s/%s status.pipelineSpec", pr.Namespace, pr.Name)
	}
	return pr, nil
}
