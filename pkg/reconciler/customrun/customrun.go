package customrun

import (
	"context"
	"errors"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	customrunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1beta1/customrun"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
	"github.com/security-gate/security-gate/pkg/transient"
)

// Engine is what the reconciler needs of gate.Engine.
type Engine interface {
	Verify(ctx context.Context, policy *v1alpha1.SecurityGateSpec, in gate.Input) *gate.Report
}

// VerifierRequest is what a VerifierFactory builds a verifier for.
type VerifierRequest struct {
	// Policy is the run's policy: its spec, and the one namespace whose
	// Secrets its key.secretRefs may read (none for an inline policy).
	Policy *policyload.Policy
	// Keychain holds the run's registry credentials, then the controller's.
	Keychain authn.Keychain
	Config   *config.Config
}

// VerifierFactory builds the registry verifier of one run.
type VerifierFactory func(ctx context.Context, req VerifierRequest) (gate.ArtifactVerifier, error)

// KeychainFactory returns the registry credentials of a service account in
// a namespace, followed by the controller's own.
type KeychainFactory func(ctx context.Context, namespace, serviceAccount string, pullSecrets []string) (authn.Keychain, error)

// Reconciler reconciles gate CustomRuns. Build it with NewController.
type Reconciler struct {
	Clock           clock.PassiveClock
	Source          pipelinerunresolver.Source
	Policies        policyload.Getter
	NewEngine       func(gate.Options) Engine
	NewVerifier     VerifierFactory
	Keychain        KeychainFactory
	SystemNamespace string
	// Enqueue wakes a CustomRun up when its verification finishes.
	Enqueue func(types.NamespacedName)
	// BaseContext outlives single reconciles; verifications run under it.
	BaseContext context.Context
	// LiveRun reads a CustomRun from the API server, not a lister (nil:
	// never); see verifications.recorded.
	LiveRun func(ctx context.Context, namespace, name string) (*v1beta1.CustomRun, error)
	// SummaryKeys reads the signing Secret of verification summaries
	// (vsa.go); nil when none may be read.
	SummaryKeys SummaryKeyGetter
	// TaskRuns lists the TaskRuns of a PipelineRun (builds.go); nil: a
	// policy with spec.provenance cannot be enforced and ends the run.
	TaskRuns TaskRunLister

	verifications *verifications
	metrics       *metrics
}

var _ customrunreconciler.Interface = (*Reconciler)(nil)

// ReconcileKind judges one CustomRun in one pass, top to bottom:
//
//  1. a finished run is left alone; cancel and timeout end it;
//  2. select the policy (policy.go);
//  3. find the owning PipelineRun, ready to be judged (owner.go);
//  4. with spec.provenance, wait for what earlier tasks built (builds.go);
//  5. start the verification, or collect its report (verification.go);
//  6. mark the outcome (outcome.go decides it, status.go writes it).
//
// A step that cannot go on returns why (errors.go), and undecided turns
// that into the status and the requeue.
func (r *Reconciler) ReconcileKind(ctx context.Context, run *v1beta1.CustomRun) reconciler.Event {
	if run.IsDone() {
		// Idempotent: a finished run is never touched again.
		r.verifications.forget(run.UID)
		return nil
	}
	now := r.Clock.Now()
	if !run.HasStarted() {
		markStarted(run, now)
	}
	switch {
	case run.IsCancelled():
		r.verifications.forget(run.UID)
		return r.finish(ctx, run, cancelled(run))
	case run.HasTimedOut(r.Clock):
		r.verifications.forget(run.UID)
		return r.finish(ctx, run, timedOut(run))
	}

	p, err := r.selectPolicy(ctx, run)
	if err != nil {
		return r.undecided(ctx, run, now, nil, err)
	}
	pr, err := r.owner(ctx, run)
	if err != nil {
		return r.undecided(ctx, run, now, p, err)
	}
	if o, ended := ownerEnded(run, pr); ended {
		// Tekton cancels its children itself; this does not wait for that
		// patch, so a gate never outlives the run it guards.
		r.verifications.forget(run.UID)
		return r.finish(ctx, run, o)
	}
	bs, err := r.buildsOf(run, now, p, pr)
	if err != nil {
		return r.undecided(ctx, run, now, p, err)
	}
	rep, err := r.verification(ctx, run, now, p, pr, bs)
	var rec *alreadyRecorded
	if errors.As(err, &rec) {
		run.Status = rec.status
		return nil
	}
	if err != nil {
		return r.undecided(ctx, run, now, p, err)
	}
	return r.finish(ctx, run, outcomeOf(run, pr, rep, p.String()))
}

// undecided turns why a step could not go on (errors.go) into the run's
// status and the reconcile's answer: wait, retry with backoff, or end the
// attempt (p may be nil: no policy selected yet).
func (r *Reconciler) undecided(ctx context.Context, run *v1beta1.CustomRun, now time.Time, p *policyload.Policy, err error) reconciler.Event {
	if wait, after := controller.IsRequeueKey(err); wait {
		markVerifying(run, "%v", err)
		return controller.NewRequeueAfter(r.wait(run, now, after))
	}
	if transient.Is(err) {
		logging.FromContext(ctx).Infow("could not decide yet, will retry", "run", runSubject(run), "error", err)
		markVerifying(run, "Could not decide yet, retrying: %v", err)
		return controller.NewRequeueAfter(r.wait(run, now, backoff(run, now, config.FromContextOrDefaults(ctx).RetryBackoffMax)))
	}
	return r.finish(ctx, run, failed(run, p, err))
}

// backoff is how long an undecided attempt waits before it tries again: as
// long as it has been undecided so far, at least a second and at most
// retry-backoff-max. The waits double without a counter to keep, and the
// attempt's start time is in its status, so a restarted controller keeps
// the pace.
func backoff(run *v1beta1.CustomRun, at time.Time, maxWait time.Duration) time.Duration {
	d := time.Second
	if run.Status.StartTime != nil {
		d = max(d, at.Sub(run.Status.StartTime.Time))
	}
	return min(d, maxWait)
}

// wait returns d, shortened so the run is reconciled when its timeout hits.
func (r *Reconciler) wait(run *v1beta1.CustomRun, now time.Time, d time.Duration) time.Duration {
	if t := run.GetTimeout(); t > 0 && run.Status.StartTime != nil {
		if left := run.Status.StartTime.Add(t).Sub(now) + time.Second; left < d {
			d = left
		}
	}
	return max(d, 0)
}

func runSubject(run *v1beta1.CustomRun) gate.Subject {
	return gate.ObjectSubject("customrun", run.Namespace, run.Name)
}

// what names what a run verifies, for messages.
func what(run *v1beta1.CustomRun, pr *v1.PipelineRun) string {
	if pr != nil {
		return "pipelinerun/" + pr.Namespace + "/" + pr.Name
	}
	return runSubject(run).String() + " (no owning PipelineRun: images only)"
}
