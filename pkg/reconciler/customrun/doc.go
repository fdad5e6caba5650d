// Package customrun is the Tekton custom-task reconciler of security-gate.
//
// It reconciles CustomRuns whose customRef or customSpec names
// securitygate.dev/v1alpha1 SecurityGate or ClusterSecurityGate: it selects
// the policy (within what config-security-gate allows), finds the owning
// PipelineRun, hands the engine exactly what that run will execute (through
// pkg/pipelinerunresolver) and records the verdict on the CustomRun.
//
// Verification runs in a goroutine per CustomRun attempt, never on the
// workqueue: a stalled registry cannot hold a worker, and cancellation and
// timeouts are handled by the next reconcile whatever the verification is
// doing. Status is changed only through the mark* helpers in status.go, so
// every outcome sets the condition, the results and the completion time
// together. Three outcomes stay apart: Passed/PassedWithWarnings (True),
// PolicyViolation (False) and could-not-decide (False, VerificationError or
// CustomRunTimedOut); nothing undecided ever becomes True.
package customrun
