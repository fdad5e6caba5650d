package customrun

import "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

// Reasons of the CustomRun's Succeeded condition. They are part of the
// user-facing contract (README "Results and reasons").
const (
	// ReasonVerifying (Unknown): verification is in progress, waiting for
	// the PipelineRun's pipelineSpec, or backing off after a transient error.
	ReasonVerifying = "Verifying"
	// ReasonPassed (True): no violation, no warning.
	ReasonPassed = "Passed"
	// ReasonPassedWithWarnings (True): passed; warnings (or violations of a
	// Warn-mode policy) are in the report.
	ReasonPassedWithWarnings = "PassedWithWarnings"
	// ReasonPolicyViolation (False): at least one violation of an Enforce policy.
	ReasonPolicyViolation = "PolicyViolation"
	// ReasonVerificationError (False): the verdict could not be decided: the
	// policy is missing or invalid, the run is malformed, or the engine hit
	// a permanent error.
	ReasonVerificationError = "VerificationError"
	// ReasonPolicyNotAllowed (False): the run selects a policy kind
	// (SecurityGate, or an inline customSpec) that config-security-gate does
	// not allow. Distinct from VerificationError so the message is not
	// mistaken for a registry problem: it is a platform decision.
	ReasonPolicyNotAllowed = "PolicyNotAllowed"
	// ReasonCancelled and ReasonTimedOut are Tekton's own (the CustomRun
	// contract): Tekton's PipelineRun reconciler recognises the first.
	ReasonCancelled = string(v1beta1.CustomRunReasonCancelled)
	ReasonTimedOut  = string(v1beta1.CustomRunReasonTimedOut)
)

// Result names (strings, as Tekton requires).
const (
	ResultVerdict        = "verdict"
	ResultViolations     = "violations"
	ResultReport         = "report"
	ResultVerifiedImages = "verified-images"
)

// ParamImages is the gate task's array param of extra artifacts to verify.
const ParamImages = "images"
