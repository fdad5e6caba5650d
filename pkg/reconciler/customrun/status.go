package customrun

import (
	"context"
	"fmt"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/reconciler"

	"github.com/security-gate/security-gate/pkg/gate"
)

// The status of a CustomRun changes only here, through the mark* helpers:
// every outcome sets the condition, the results and the completion time
// together, so they never disagree.

// finish ends the attempt with o: a retry if spec.retries allow (never for
// a cancel), else the final status, one metric and one event.
func (r *Reconciler) finish(ctx context.Context, run *v1beta1.CustomRun, o outcome) reconciler.Event {
	if o.Reason == ReasonCancelled {
		markCancelled(run, o)
		r.metrics.observeOutcome(ctx, o.Reason)
		return reconciler.NewEvent(corev1.EventTypeWarning, o.Reason, "%s: %s", runSubject(run), o.Message)
	}
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

// markStarted starts an attempt: start time from the reconciler's clock (so
// HasTimedOut agrees with it) and Succeeded Unknown/Verifying.
func markStarted(run *v1beta1.CustomRun, now time.Time) {
	run.Status.StartTime = &metav1.Time{Time: now}
	run.Status.InitializeConditions()
	run.Status.MarkCustomRunRunning(ReasonVerifying, "Verification started")
}

// markVerifying keeps the run Unknown with a message saying what it waits for.
func markVerifying(run *v1beta1.CustomRun, format string, args ...any) {
	run.Status.MarkCustomRunRunning(ReasonVerifying, format, args...)
}

// markOutcome records a terminal outcome: condition, results and the full
// report in extraFields.
func markOutcome(run *v1beta1.CustomRun, o outcome) error {
	rep := o.Report
	if rep == nil {
		rep = &gate.Report{Verdict: gate.VerdictError, Errors: []gate.Finding{{
			Check: gate.CheckPolicy, Subject: runSubject(run), Message: o.Message, Severity: gate.SeverityError,
		}}}
	}
	results, err := buildResults(rep)
	if err != nil {
		return err
	}
	run.Status.Results = results
	if err := run.Status.EncodeExtraFields(extraFields{Policy: o.Policy, Report: rep}); err != nil {
		return fmt.Errorf("encoding status.extraFields: %w", err)
	}
	if o.succeeded() {
		run.Status.MarkCustomRunSucceeded(o.Reason, "%s", o.Message)
	} else {
		run.Status.MarkCustomRunFailed(o.Reason, "%s", o.Message)
	}
	return nil
}

// markCancelled ends a cancelled run: the condition only, as the CustomRun
// contract asks (no verdict was reached, none is reported).
func markCancelled(run *v1beta1.CustomRun, o outcome) {
	run.Status.MarkCustomRunFailed(o.Reason, "%s", o.Message)
}

// canRetry reports whether a failed attempt must be retried instead of
// ending the run (the CustomRun contract: False only once retries are used).
func canRetry(run *v1beta1.CustomRun) bool {
	return run.Spec.Retries > len(run.Status.RetriesStatus)
}

// markRetry archives the failed attempt o in retriesStatus and starts the
// next attempt with a fresh start time (spec.timeout is per attempt).
func markRetry(run *v1beta1.CustomRun, o outcome, now time.Time) error {
	archived := v1beta1.CustomRun{ObjectMeta: run.ObjectMeta, Status: *run.Status.DeepCopy()}
	archived.Status.RetriesStatus = nil
	if err := markOutcome(&archived, o); err != nil {
		return err
	}
	run.Status.RetriesStatus = append(run.Status.RetriesStatus, archived.Status)
	run.Status.Results = nil
	run.Status.ExtraFields.Raw = nil
	run.Status.CompletionTime = nil
	run.Status.StartTime = &metav1.Time{Time: now}
	markVerifying(run, "Retry %d of %d after %s: %s", len(run.Status.RetriesStatus), run.Spec.Retries, o.Reason, o.Message)
	return nil
}

// eventFor is the one Kubernetes Event of a verdict, naming the first findings.
func eventFor(o outcome) reconciler.Event {
	typ := corev1.EventTypeWarning
	if o.Reason == ReasonPassed {
		typ = corev1.EventTypeNormal
	}
	return reconciler.NewEvent(typ, o.Reason, "%s", eventMessage(o))
}

func eventMessage(o outcome) string {
	msg := o.Message
	if o.Report == nil {
		return msg
	}
	var first []gate.Finding
	for _, l := range [][]gate.Finding{o.Report.Violations, o.Report.Errors, o.Report.Warnings} {
		first = append(first, l...)
	}
	const n = 3
	for i, f := range first {
		if i == n {
			msg += fmt.Sprintf("; and %d more (see status.extraFields)", len(first)-n)
			break
		}
		msg += fmt.Sprintf("; %s %s: %s", f.Check, f.Subject, f.Message)
	}
	return msg
}
