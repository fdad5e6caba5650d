package customrun

import (
	"fmt"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	v1beta1listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/builds"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/transient"
)

// A gate whose policy has spec.provenance judges what earlier tasks of its
// PipelineRun built: each entry of its images param is traced to the
// TaskRun that built it (pkg/builds, the same look the CLI takes), and the
// gate waits until that TaskRun has finished and Tekton Chains has finished
// with it. The wait is a requeue (waitFor), woken by TaskRun events
// (enqueueGatesOfTaskRun) and bounded by builds.ChainsWaitShare of the run's
// timeout; past it, what is still missing could not be decided, never a
// pass.

// buildsPoll bounds the time between looks while a gate waits for a build,
// in case a TaskRun event is lost.
const buildsPoll = 30 * time.Second

// TaskRunLister lists the TaskRuns of a namespace matching a selector (the
// TaskRun informer's lister).
type TaskRunLister func(namespace string, selector labels.Selector) ([]*v1.TaskRun, error)

// buildsOf returns the build context of each artifact the gate received,
// for gate.Input.Builds, once every one is decided: traced to a finished
// TaskRun of pr that Chains signed or failed, or not traceable for good.
// While one is not, the run waits. nil, nil: the policy does not judge
// provenance.
func (r *Reconciler) buildsOf(run *v1beta1.CustomRun, now time.Time, p *policyload.Policy, pr *v1.PipelineRun) (map[string]*gate.Build, error) {
	prov := p.Spec.Provenance
	if prov == nil {
		return nil, nil
	}
	images, err := imagesParam(run)
	if err != nil || len(images) == 0 {
		return nil, err // the engine reports a gate with nothing to judge
	}
	if pr == nil {
		if prov.RunBinding == v1alpha1.ProvenanceOff {
			return nil, nil // judged with no run to bind to
		}
		return nil, end(ReasonVerificationError, "%s: %s requires spec.provenance.runBinding (the provenance must name the TaskRun of this run that built each image), "+
			"but this CustomRun has no owning PipelineRun whose TaskRuns could have built them; run the gate as a task of the pipeline that builds the images, or set runBinding: Off",
			runSubject(run), p)
	}
	if r.TaskRuns == nil {
		return nil, end(ReasonVerificationError, "%s: %s has spec.provenance, but this controller cannot read TaskRuns to find what built the images; provenance is not enforced here, failing closed",
			runSubject(run), p)
	}
	trs, err := r.TaskRuns(pr.Namespace, labels.SelectorFromSet(labels.Set{pipeline.PipelineRunLabelKey: pr.Name}))
	if err != nil {
		return nil, fmt.Errorf("%s: listing the TaskRuns of pipelinerun/%s/%s: %w", runSubject(run), pr.Namespace, pr.Name, transient.API(err))
	}
	bs, waiting := builds.Look(pr, run.Labels[pipeline.PipelineTaskLabelKey], ParamImages, images, trs)
	if len(waiting) == 0 {
		return bs, nil
	}
	why := waitingFor(waiting)
	if left, bounded := chainsWaitLeft(run, now); !bounded || left > 0 {
		d := buildsPoll
		if bounded {
			d = min(d, left)
		}
		return nil, waitFor(d, "Waiting for %s", why)
	}
	// The wait is over. An artifact that only lacks Chains' verdict goes
	// to the engine as it is (its check chains cannot be decided); one whose
	// TaskRun is not there cannot be judged at all.
	var missing []string
	for _, w := range waiting {
		if !w.ChainsOnly {
			missing = append(missing, w.Why)
		}
	}
	if len(missing) > 0 {
		return nil, end(ReasonVerificationError, "%s: could not decide: the TaskRun that built an artifact was not ready within %.0f%% of spec.timeout: %s",
			runSubject(run), builds.ChainsWaitShare*100, strings.Join(missing, "; "))
	}
	return bs, nil
}

// chainsWaitLeft is how much longer the run may wait for its builds: up to
// builds.ChainsWaitShare of its timeout from its start. bounded is false
// when the run has no timeout (then the PipelineRun's timeout ends it).
func chainsWaitLeft(run *v1beta1.CustomRun, now time.Time) (left time.Duration, bounded bool) {
	t := run.GetTimeout()
	if t <= 0 || run.Status.StartTime == nil {
		return 0, false
	}
	until := run.Status.StartTime.Add(time.Duration(float64(t) * builds.ChainsWaitShare))
	return until.Sub(now), true
}

// waitingFor says what the run waits for, for its Verifying message.
func waitingFor(ws []builds.Waiting) string {
	whys := make([]string, 0, len(ws))
	for _, w := range ws {
		whys = append(whys, w.Why)
	}
	return strings.Join(whys, "; ")
}

// enqueueGatesOfTaskRun enqueues the unfinished gate CustomRuns of the
// PipelineRun a TaskRun belongs to (its tekton.dev/pipelineRun label, and
// the same controlling PipelineRun): a gate waiting for that TaskRun to
// finish, or for Chains to annotate it, looks again.
func enqueueGatesOfTaskRun(obj interface{}, runs v1beta1listers.CustomRunLister, enqueue func(interface{})) {
	tr, ok := obj.(*v1.TaskRun)
	if !ok {
		return
	}
	owner := metav1.GetControllerOf(tr)
	name := tr.Labels[pipeline.PipelineRunLabelKey]
	if owner == nil || name == "" {
		return
	}
	list, err := runs.CustomRuns(tr.Namespace).List(labels.SelectorFromSet(labels.Set{pipeline.PipelineRunLabelKey: name}))
	if err != nil {
		return // the periodic look still finds it
	}
	for _, run := range list {
		if c := metav1.GetControllerOf(run); Filter(run) && !run.IsDone() && c != nil && c.UID == owner.UID {
			enqueue(run)
		}
	}
}
