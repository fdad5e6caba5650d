package customrun

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"knative.dev/pkg/logging"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

// maxPoll bounds how long a run waits between reconciles while verifying, in
// case the wake-up from a finished verification is lost (leader change).
const maxPoll = 30 * time.Second

// verification starts the attempt's verification, or collects its report
// once it is in. While it runs the run waits (waitFor). A report undecided
// for transient reasons only is returned as a transient error; it is kept
// so the next try starts no earlier than the backoff allows, however often
// the run is reconciled meanwhile.
func (r *Reconciler) verification(ctx context.Context, run *v1beta1.CustomRun, now time.Time, p *policyload.Policy, pr *v1.PipelineRun, bs map[string]*gate.Build) (*gate.Report, error) {
	attempt := len(run.Status.RetriesStatus)
	v := r.verifications.current(run.UID, attempt)
	if v == nil {
		return nil, r.start(ctx, run, now, attempt, 1, p, pr, bs, fmt.Sprintf("Verifying %s against %s", what(run, pr), p))
	}
	if !v.finishedYet() {
		return nil, waitFor(maxPoll, "%s", v.status)
	}
	if !v.collected {
		v.collected = true
		r.metrics.observeAttempt(ctx, verdictOf(v.report), v.duration)
	}
	err := transientOf(run, pr, v.report, p.String())
	if err == nil {
		if v.delivered {
			if live := r.recorded(ctx, run, attempt); live != nil {
				return nil, live
			}
		}
		// Kept, not forgotten, until a reconcile sees the run finished: a
		// reconcile that reads the run from a lister not yet updated with
		// this verdict must not verify (and announce) it a second time.
		v.delivered = true
		return v.report, nil
	}
	// The count is what the Verifying message shows (and this process
	// knows): how often this attempt could not decide so far.
	err = fmt.Errorf("try %d undecided: %w", v.try, err)
	maxWait := config.FromContextOrDefaults(ctx).RetryBackoffMax
	if retryAt := v.finished.Add(backoff(run, v.finished, maxWait)); now.Before(retryAt) {
		return nil, err
	}
	return nil, r.start(ctx, run, now, attempt, v.try+1, p, pr, bs, fmt.Sprintf("Could not decide yet, retrying: %v", err))
}

// start launches a try of the attempt's verification in its own goroutine
// and returns waitFor with status as the run's message. Only what the
// worker already holds is used here: the run's credentials, the verifier
// and the engine are built in the try's goroutine (verify), so neither a
// slow API server nor a stalled registry holds a worker, and a cancel or
// timeout is handled by the next reconcile whatever the try is doing.
func (r *Reconciler) start(ctx context.Context, run *v1beta1.CustomRun, now time.Time, attempt, try int, p *policyload.Policy, pr *v1.PipelineRun, bs map[string]*gate.Build, status string) error {
	images, err := imagesParam(run)
	if err != nil {
		return err
	}
	cfg := config.FromContextOrDefaults(ctx)
	base := r.BaseContext
	if base == nil {
		base = context.Background()
	}
	// The budget is a duration measured on the reconciler's clock; a context
	// deadline is an instant of the wall clock. Converting through a
	// duration keeps the two clocks from ever being compared.
	vctx, cancel := context.WithTimeout(logging.WithLogger(base, logging.FromContext(ctx)), attemptBudget(run, now, cfg.RegistryTimeout))
	nn := types.NamespacedName{Namespace: run.Namespace, Name: run.Name}
	r.verifications.start(vctx, cancel, run.UID, &verification{attempt: attempt, try: try, status: status}, func(ctx context.Context) *gate.Report {
		return r.verify(ctx, cfg, run, p, pr, images, bs)
	}, func() {
		if r.Enqueue != nil {
			r.Enqueue(nn)
		}
	})
	return waitFor(maxPoll, "%s", status)
}

// verify is one try, in its own goroutine: the run's registry credentials,
// the verifier, the engine, and after a pass the verification summaries
// (vsa.go). What cannot be prepared is the report's error finding,
// transient when it may go away.
func (r *Reconciler) verify(ctx context.Context, cfg *config.Config, run *v1beta1.CustomRun, p *policyload.Policy, pr *v1.PipelineRun, images []string, bs map[string]*gate.Build) *gate.Report {
	sa, pullSecrets := credentialsOf(run, pr)
	kc, err := r.Keychain(ctx, run.Namespace, sa, pullSecrets)
	if err != nil {
		return undecidedReport(gate.CheckRegistry, runSubject(run),
			fmt.Errorf("registry credentials of serviceaccount %s/%s: %w", run.Namespace, sa, err))
	}
	verifier, err := r.NewVerifier(ctx, VerifierRequest{Policy: p, Keychain: kc, Config: cfg})
	if err != nil {
		return undecidedReport(gate.CheckPolicy, gate.TextSubject(p.String()), fmt.Errorf("%s cannot be used: %w", p, err))
	}
	eng := r.NewEngine(gate.Options{
		Resolver:    pipelinerunresolver.New(r.Source, run.Namespace, pr),
		Verifier:    verifier,
		Now:         r.Clock.Now,
		GateTask:    run.Labels[pipeline.PipelineTaskLabelKey],
		Concurrency: cfg.Concurrency,
		// This run is the gate of the pipeline it judges: a recorded
		// pipeline without any gate (swapped in, say) fails gate-order.
		RequireGate: pr != nil,
	})
	in := pipelinerunresolver.Input(pr, images)
	in.Builds = bs // builds.go: what built each image, with spec.provenance
	rep := eng.Verify(ctx, &p.Spec, in)
	r.summarize(ctx, cfg, p, kc, rep) // only after a pass, when configured
	return rep
}

// credentialsOf is the service account whose registry credentials a run
// uses (the CustomRun's, else the PipelineRun's task runs', else
// "default") and the PipelineRun's image pull secrets.
func credentialsOf(run *v1beta1.CustomRun, pr *v1.PipelineRun) (string, []string) {
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
	return sa, pullSecrets
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

// imagesParam reads the gate task's params: only `images` (array; a string
// is taken as one image). Any other param ends the attempt, so a typo such
// as `image` cannot silently verify nothing.
func imagesParam(run *v1beta1.CustomRun) ([]string, error) {
	var images []string
	for _, p := range run.Spec.Params {
		if p.Name != ParamImages {
			return nil, end(ReasonVerificationError, "%s: spec.params: unknown param %q; the gate accepts only %q (array of image references)", runSubject(run), p.Name, ParamImages)
		}
		vals := p.Value.ArrayVal
		switch p.Value.Type {
		case v1beta1.ParamTypeString:
			vals = []string{p.Value.StringVal}
		case v1beta1.ParamTypeArray:
		default:
			return nil, end(ReasonVerificationError, "%s: spec.params %q must be an array of image references, not %s", runSubject(run), ParamImages, p.Value.Type)
		}
		for i, v := range vals {
			if v == "" {
				return nil, end(ReasonVerificationError, "%s: spec.params %s[%d] is empty; every entry must be an image reference", runSubject(run), ParamImages, i)
			}
		}
		images = append(images, vals...)
	}
	return images, nil
}

// verifications owns the verifications of this process, at most one per
// CustomRun: the goroutine of the try in flight, then its report until a
// reconcile collects it, and, when that report could not be decided for
// transient reasons, until the next try replaces it. Nothing is recorded on
// the CustomRun before a verification has been decided: after a restart (or
// a change of leader) a run simply verifies again, which yields the same
// single outcome.
type verifications struct {
	// clock is the reconciler's: durations and sweeps are judged on it.
	clock clock.PassiveClock
	mu    sync.Mutex
	byRun map[types.UID]*verification
}

// verification is one try at verifying one attempt of a CustomRun.
type verification struct {
	attempt int
	// try counts the tries of the attempt in this process, from 1.
	try int
	// status is the run's Verifying message while the try runs.
	status string
	cancel context.CancelFunc
	done   chan struct{}
	// Set before done is closed; read only after.
	report   *gate.Report
	duration time.Duration
	finished time.Time
	// collected: a reconcile read the report (its metrics are counted).
	// delivered: a reconcile returned it as the attempt's verdict.
	// Only the reconciles of its run touch them, and knative never runs two
	// of one key at once.
	collected, delivered bool
}

// alreadyRecorded says the verdict this process delivered is in the API
// server already and the run was read from a lister behind it: the
// reconcile adopts the stored status and changes nothing (no second verdict,
// no second Event).
type alreadyRecorded struct{ status v1beta1.CustomRunStatus }

func (*alreadyRecorded) Error() string {
	return "the verdict is recorded already; the run was read before it"
}

// recorded asks the API server whether the verdict of attempt, delivered
// once by this process, was stored: the run is done, or a later attempt
// started. Nil means deliver it again (the write failed, or the server
// cannot tell; a repeated write of the same verdict is harmless).
func (r *Reconciler) recorded(ctx context.Context, run *v1beta1.CustomRun, attempt int) *alreadyRecorded {
	if r.LiveRun == nil {
		return nil
	}
	live, err := r.LiveRun(ctx, run.Namespace, run.Name)
	if err != nil || live.UID != run.UID {
		return nil
	}
	if live.IsDone() || len(live.Status.RetriesStatus) > attempt {
		return &alreadyRecorded{status: *live.Status.DeepCopy()}
	}
	return nil
}

func newVerifications(clk clock.PassiveClock) *verifications {
	return &verifications{clock: clk, byRun: map[types.UID]*verification{}}
}

func (v *verification) finishedYet() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// current returns the run's verification of attempt, or nil. One of an
// earlier attempt is cancelled and dropped: a retry never picks up the
// previous attempt's result.
func (vs *verifications) current(uid types.UID, attempt int) *verification {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v := vs.byRun[uid]
	if v != nil && v.attempt != attempt {
		v.cancel()
		delete(vs.byRun, uid)
		return nil
	}
	return v
}

// start runs fn in a goroutine under ctx (which carries the attempt's
// deadline; cancel releases it) as the run's verification v, replacing any
// earlier one, and calls onDone when fn returns.
func (vs *verifications) start(ctx context.Context, cancel context.CancelFunc, uid types.UID, v *verification, fn func(context.Context) *gate.Report, onDone func()) {
	v.cancel, v.done = cancel, make(chan struct{})
	vs.mu.Lock()
	vs.sweepLocked()
	if old := vs.byRun[uid]; old != nil {
		old.cancel()
	}
	vs.byRun[uid] = v
	vs.mu.Unlock()
	go func() {
		defer cancel()
		t0 := vs.clock.Now()
		rep := fn(ctx)
		v.report, v.duration, v.finished = rep, vs.clock.Since(t0), vs.clock.Now()
		close(v.done)
		if onDone != nil {
			onDone()
		}
	}()
}

// forget cancels and drops the run's verification (its report was
// consumed, or the run ended).
func (vs *verifications) forget(uid types.UID) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v := vs.byRun[uid]; v != nil {
		v.cancel()
		delete(vs.byRun, uid)
	}
}

// staleAfter is how long a finished, never-consumed report is kept: its
// CustomRun was deleted, or another replica took it over.
const staleAfter = time.Hour

func (vs *verifications) sweepLocked() {
	now := vs.clock.Now()
	for uid, v := range vs.byRun {
		if v.finishedYet() && now.Sub(v.finished) > staleAfter {
			delete(vs.byRun, uid)
		}
	}
}
