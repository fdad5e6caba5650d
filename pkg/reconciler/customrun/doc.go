// Package customrun is the Tekton custom-task reconciler of security-gate.
//
// It reconciles CustomRuns whose customRef or customSpec names
// securitygate.dev/v1alpha1 SecurityGate or ClusterSecurityGate and records
// one verdict on each. ReconcileKind (customrun.go) reads top to bottom, one
// file per step:
//
//	policy.go        select the policy (pkg/policyload: get, default,
//	                 validate, where its Secrets may be read), if
//	                 config-security-gate allows its kind
//	owner.go         find the owning PipelineRun, ready to be judged
//	verification.go  start the verification, or collect its report
//	outcome.go       decide the outcome from the report (gate.Decide)
//	status.go        mark the status: condition, results, extraFields, Event
//
// A step that cannot go on returns why in knative's vocabulary (errors.go):
// a requeue when the run is not ready yet (waitFor), an error pkg/transient
// marks when it may go away (retried with backoff within the run's timeout),
// or a permanent error that ends the attempt. A new reason to wait, such as
// TaskRuns a gate must see finish, is one more waitFor in a step, plus an
// informer handler that enqueues the gate when what it waits for changes
// (as enqueueGatesOf does for the PipelineRun).
//
// Verification runs in a goroutine per try, never on the workqueue: a
// stalled registry cannot hold a worker, and cancellation and timeouts are
// handled by the next reconcile whatever the verification is doing. Its
// state has one owner, verifications: the try in flight, its report until
// collected, and the time a transient failure finished, which keeps the next
// try's backoff. Status is changed only through the mark* helpers in
// status.go. Three outcomes stay apart: Passed/PassedWithWarnings (True),
// PolicyViolation (False) and could-not-decide (False, VerificationError or
// CustomRunTimedOut); nothing undecided ever becomes True.
package customrun
