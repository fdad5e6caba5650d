package customrun

import (
	"errors"
	"fmt"
	"time"

	"knative.dev/pkg/controller"
)

// A step of ReconcileKind that cannot go on says why with one of three
// errors, and undecided (customrun.go) reads them in this order:
//
//   - waitFor: the run is not ready to be judged yet (Tekton has not
//     recorded the pipeline; the verification is still running). A knative
//     requeue error: the run stays Verifying and is reconciled again after
//     the delay, or earlier when an informer event wakes it.
//   - an error transient.Is reports: it may go away (pkg/transient marks it
//     where it arises). The run stays Verifying and tries again after a
//     backoff, within its timeout.
//   - anything else ends the attempt: end (a knative permanent error
//     carrying the condition's reason), or an error from below that is not
//     transient, which ends it as VerificationError. Fail closed: nothing
//     here ever yields a pass.

// notReady is waitFor's error.
type notReady struct {
	why     string
	requeue error
}

func (e *notReady) Error() string { return e.why }

// Unwrap lets controller.IsRequeueKey see the delay.
func (e *notReady) Unwrap() error { return e.requeue }

// waitFor says the run is not ready yet: requeue after d (bounded by the
// run's timeout), with why as the Verifying condition's message. To be woken
// earlier, register an informer handler that enqueues the gate when what it
// waits for changes, as enqueueGatesOf does for the PipelineRun.
func waitFor(d time.Duration, format string, args ...any) error {
	return &notReady{why: fmt.Sprintf(format, args...), requeue: controller.NewRequeueAfter(d)}
}

// ending is end's error: the reason and message of the attempt's outcome.
type ending struct {
	reason, message string
}

func (e *ending) Error() string { return e.message }

// end says the attempt ends with reason (ReasonVerificationError,
// ReasonPolicyNotAllowed): nothing about the run will change by trying
// again.
func end(reason, format string, args ...any) error {
	return controller.NewPermanentError(&ending{reason: reason, message: fmt.Sprintf(format, args...)})
}

// reasonOf is the condition reason of an error that ends an attempt.
func reasonOf(err error) string {
	var e *ending
	if errors.As(err, &e) {
		return e.reason
	}
	return ReasonVerificationError
}
