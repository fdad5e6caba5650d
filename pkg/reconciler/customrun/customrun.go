package customrun

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
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
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

// Engine is what the reconciler needs of gate.Engine.
type Engine interface {
	Verify(ctx context.Context, policy *v1alpha1.SecurityGateSpec, in gate.Input) *gate.Report
}

// VerifierRequest is what a VerifierFactory builds a verifier for.
type VerifierRequest struct {
	Policy     *v1alpha1.SecurityGateSpec
	PolicyName string
	// SecretNamespace is where key.secretRef Secrets may be read ("" for
	// none: an inline policy).
	SecretNamespace string
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
	Policies        PolicyGetter
	NewEngine       func(gate.Options) Engine
	NewVerifier     VerifierFactory
	Keychain        KeychainFactory
	SystemNamespace string
	// Enqueue wakes a CustomRun up when its verification finishes.
	Enqueue func(types.NamespacedName)
	// BaseContext outlives single reconciles; verifications run under it.
	BaseContext context.Context
	// SummaryKeys reads the signing Secret of verification summaries
	// (vsa.go); nil when none may be read.
	SummaryKeys SummaryKeyGetter

	jobs    *jobs
	metrics *metrics
}

var _ customrunreconciler.Interface = (*Reconciler)(nil)

// maxPoll bounds how long a run waits between reconciles while verifying, in
// case the wake-up from a finished verification is lost (leader change).
const maxPoll = 30 * time.Second

// pendingPoll is how often a run re-checks a PipelineRun whose pipelineSpec
// is not set yet.
const pendingPoll = 2 * time.Second

// ReconcileKind implements customrunreconciler.Interface.
func (r *Reconciler) ReconcileKind(ctx context.Context, run *v1beta1.CustomRun) reconciler.Event {
	logger := logging.FromContext(ctx)
	if run.IsDone() {
		// Idempotent: a finished run is never touched again.
		r.jobs.forget(run.UID)
		return nil
	}
	now := r.Clock.Now()
	if !run.HasStarted() {
		markStarted(run, now)
	}
	attempt := jobKey{UID: run.UID, Attempt: len(run.Status.RetriesStatus)}

	if run.IsCancelled() {
		r.jobs.forget(run.UID)
		markCancelled(run)
		r.metrics.observeOutcome(ctx, ReasonCancelled)
		return reconciler.NewEvent("Warning", ReasonCancelled, "%s: %s", runSubject(run), run.Status.GetCondition("Succeeded").Message)
	}
	if run.HasTimedOut(r.Clock) {
		r.jobs.drop(attempt)
		return r.finish(ctx, run, outcome{Reason: ReasonTimedOut, Message: fmt.Sprintf(
			"%s: no verdict within spec.timeout %s (%s); the run fails closed", runSubject(run), run.GetTimeout(), lastStatus(run))})
	}

	p, perr := r.selectPolicy(ctx, run)
	if perr != nil {
		if perr.Transient {
			return r.transient(ctx, run, now, perr.Message)
		}
		return r.finish(ctx, run, outcome{Reason: perr.Reason, Message: perr.Message})
	}
	images, err := imagesParam(run)
	if err != nil {
		return r.finish(ctx, run, outcome{Reason: ReasonVerificationError, Message: err.Error(), Policy: p.Name})
	}
	pr, oerr := r.owner(ctx, run)
	switch {
	case oerr != nil && oerr.Transient:
		return r.transient(ctx, run, now, oerr.Message)
	case oerr != nil:
		return r.finish(ctx, run, outcome{Reason: ReasonVerificationError, Message: oerr.Message, Policy: p.Name})
	case pr != nil && pr.Status.PipelineSpec == nil:
		// Tekton has not finished resolving the pipeline: what will run is
		// not known yet. Wait; never fail for it.
		markVerifying(run, "Waiting for pipelinerun/%s/%s status.pipelineSpec", pr.Namespace, pr.Name)
		return controller.NewRequeueAfter(r.wait(run, now, pendingPoll))
	}

	j := r.jobs.get(attempt)
	if j == nil {
		if nb := r.jobs.notBefore(run.UID); now.Before(nb) {
			return controller.NewRequeueAfter(r.wait(run, now, nb.Sub(now)))
		}
		if err := r.startVerification(ctx, run, attempt, p, pr, images, now); err != nil {
			return r.transient(ctx, run, now, err.Error())
		}
		markVerifying(run, "Verifying %s against %s", what(run, pr), p.Name)
		return controller.NewRequeueAfter(r.wait(run, now, maxPoll))
	}
	if !j.finishedYet() {
		return controller.NewRequeueAfter(r.wait(run, now, maxPoll))
	}
	r.jobs.drop(attempt)
	rep := j.report
	o := outcomeOf(run, pr, rep, p.Name)
	r.metrics.observeAttempt(ctx, verdictOf(rep), j.duration)
	if o.Reason == ReasonVerificationError && transient(rep) {
		logger.Infow("verification could not decide, will retry", "run", runSubject(run), "errors", rep.Errors)
		return r.transient(ctx, run, now, o.Message)
	}
	return r.finish(ctx, run, o)
}

// startVerification starts the attempt's verification in the background.
func (r *Reconciler) startVerification(ctx context.Context, run *v1beta1.CustomRun, key jobKey, p *policy, pr *v1.PipelineRun, images []string, now time.Time) error {
	cfg := config.FromContextOrDefaults(ctx)
	sa := run.Spec.ServiceAccountName
	if sa == "" && pr != nil {
		sa = pr.Spec.TaskRunTemplate.ServiceAccountName
	}
	if sa == "" {
		sa = "default"
	}
	var pullSecrets []string
	if pr != nil && pr.Spec.TaskRunTemplate.PodTemplate != nil {
		for _, s := range pr.Spec.TaskRunTemplate.PodTemplate.ImagePullSecrets {
			pullSecrets = append(pullSecrets, s.Name)
		}
	}
	kc, err := r.Keychain(ctx, run.Namespace, sa, pullSecrets)
	if err != nil {
		return fmt.Errorf("%s: registry credentials of serviceaccount %s/%s: %w", runSubject(run), run.Namespace, sa, err)
	}
	verifier, err := r.NewVerifier(ctx, VerifierRequest{Policy: p.Spec, PolicyName: p.Name, SecretNamespace: p.SecretNamespace, Keychain: kc, Config: cfg})
	if err != nil {
		return fmt.Errorf("%s: preparing the registry verifier for %s: %w", runSubject(run), p.Name, err)
	}
	var in gate.Input
	var res gate.Resolver
	if pr != nil {
		in = pipelinerunresolver.Input(pr, images)
		res = pipelinerunresolver.New(r.Source, run.Namespace, pr)
	} else {
		in = pipelinerunresolver.Input(nil, images)
		res = pipelinerunresolver.New(r.Source, run.Namespace, nil)
	}
	eng := r.NewEngine(gate.Options{
		Resolver:    res,
		Verifier:    verifier,
		Now:         r.Clock.Now,
		GateTask:    run.Labels[pipeline.PipelineTaskLabelKey],
		Concurrency: cfg.Concurrency,
		// This run is the gate of the pipeline it judges: a recorded
		// pipeline without any gate (swapped in, say) fails gate-order.
		RequireGate: pr != nil,
	})
	budget := attemptBudget(run, now, cfg.RegistryTimeout)
	base := r.BaseContext
	if base == nil {
		base = context.Background()
	}
	// The budget is a duration measured on the reconciler's clock; a context
	// deadline is an instant of the wall clock. Converting through a
	// duration keeps the two clocks from ever being compared.
	jctx, cancel := context.WithTimeout(logging.WithLogger(base, logging.FromContext(ctx)), budget)
	spec := p.Spec.DeepCopy()
	nn := types.NamespacedName{Namespace: run.Namespace, Name: run.Name}
	r.jobs.start(jctx, key, now, func(ctx context.Context) *gate.Report {
		defer cancel()
		rep := eng.Verify(ctx, spec, in)
		r.summarize(ctx, cfg, p, kc, rep) // vsa.go: only after a pass, when configured
		return rep
	}, func() {
		if r.Enqueue != nil {
			r.Enqueue(nn)
		}
	})
	return nil
}

// attemptBudget is how long the attempt's verification may take, judged on
// the reconciler's clock: what is left of the run's timeout, or, with no
// run timeout, a bounded multiple of the registry timeout so a hung registry
// turns into a transient error and a retry rather than a run that never ends.
func attemptBudget(run *v1beta1.CustomRun, now time.Time, registryTimeout time.Duration) time.Duration {
	if t := run.GetTimeout(); t > 0 && run.Status.StartTime != nil {
		return max(run.Status.StartTime.Add(t).Sub(now), 0)
	}
	return 10 * registryTimeout
}

// transient keeps the run Unknown and retries with backoff; the timeout
// check above ends it if no verdict comes in time.
func (r *Reconciler) transient(ctx context.Context, run *v1beta1.CustomRun, now time.Time, msg string) reconciler.Event {
	cfg := config.FromContextOrDefaults(ctx)
	nb := r.jobs.backoff(run.UID, now, cfg.RetryBackoffMax)
	markVerifying(run, "Could not decide yet (attempt %d), retrying in %s: %s", r.jobs.failureCount(run.UID), nb.Sub(now), msg)
	return controller.NewRequeueAfter(r.wait(run, now, nb.Sub(now)))
}

// finish ends the attempt with o: a retry if spec.retries allow, else the
// final status, one metric and one event.
func (r *Reconciler) finish(ctx context.Context, run *v1beta1.CustomRun, o outcome) reconciler.Event {
	r.jobs.forget(run.UID)
	if !o.succeeded() && canRetry(run) {
		if err := markRetry(run, o, r.Clock.Now()); err != nil {
			return err
		}
		return controller.NewRequeueImmediately()
	}
	if err := markOutcome(run, o); err != nil {
		return err
	}
	r.metrics.observeOutcome(ctx, o.Reason)
	return eventFor(o)
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

func lastStatus(run *v1beta1.CustomRun) string {
	if c := run.Status.GetCondition("Succeeded"); c != nil && c.Message != "" {
		return "last status: " + c.Message
	}
	return "verification had not finished"
}

func what(run *v1beta1.CustomRun, pr *v1.PipelineRun) string {
	if pr != nil {
		return "pipelinerun/" + pr.Namespace + "/" + pr.Name
	}
	return runSubject(run) + " (no owning PipelineRun: images only)"
}
