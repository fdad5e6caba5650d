package customrun

import (
	"errors"
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/transient"
)

// outcome is one terminal decision for an attempt.
type outcome struct {
	// Reason is one of the Reason* constants.
	Reason string
	// Message is the condition message.
	Message string
	// Report is the engine's report, or the findings of why there is none
	// (nil: the results say verdict "error" with Message as the only error).
	Report *gate.Report
	// Policy names the policy, e.g. ClusterSecurityGate/strict.
	Policy string
}

func (o outcome) succeeded() bool {
	return o.Reason == ReasonPassed || o.Reason == ReasonPassedWithWarnings
}

// outcomeOf maps the engine's verdict (gate.Decide, the one verdict rule)
// to an outcome; it has no rule of its own. A violation is a
// PolicyViolation even when something else could not be decided (the
// undecided findings stay in the report); anything else undecided, or a
// report that contradicts itself, is VerificationError: fail closed.
func outcomeOf(run *v1beta1.CustomRun, pr *v1.PipelineRun, rep *gate.Report, policy string) outcome {
	subject := what(run, pr)
	if rep == nil {
		return outcome{Reason: ReasonVerificationError, Policy: policy, Message: fmt.Sprintf("%s: the engine returned no report", subject)}
	}
	o := outcome{Report: rep, Policy: policy}
	s := rep.Summary
	switch gate.Decide(rep) {
	case gate.VerdictFail:
		o.Reason = ReasonPolicyViolation
		o.Message = fmt.Sprintf("%s violates %s: %d violation(s), %d warning(s)", subject, policy, len(rep.Violations), len(rep.Warnings))
		if len(rep.Errors) > 0 {
			o.Message += fmt.Sprintf("; %d more finding(s) could not be decided", len(rep.Errors))
		}
	case gate.VerdictWarn:
		o.Reason = ReasonPassedWithWarnings
		o.Message = fmt.Sprintf("%s passed %s with %d warning(s): %d task(s), %d image(s), %d bundle(s) checked", subject, policy, len(rep.Warnings), s.Tasks, s.Images, s.Bundles)
	case gate.VerdictPass:
		o.Reason = ReasonPassed
		o.Message = fmt.Sprintf("%s passed %s: %d task(s), %d image(s), %d bundle(s) checked", subject, policy, s.Tasks, s.Images, s.Bundles)
	default:
		o.Reason = ReasonVerificationError
		o.Message = fmt.Sprintf("%s: %s could not be decided: %d error(s)", subject, policy, len(rep.Errors))
		if len(rep.Errors) > 0 {
			o.Message += ": " + rep.Errors[0].Subject.String() + ": " + rep.Errors[0].Message
		} else {
			o.Message += fmt.Sprintf(" (the report says %q with %d violation(s), %d warning(s); failing closed)", rep.Verdict, len(rep.Violations), len(rep.Warnings))
		}
	}
	return o
}

// transientOf is a report undecided only for reasons that may go away
// (registry 5xx, timeouts, a resolution not finished), as a transient
// error; nil for any other report. A report with a violation is decided
// (fail), whatever else it holds: it is never retried.
func transientOf(run *v1beta1.CustomRun, pr *v1.PipelineRun, rep *gate.Report, policy string) error {
	if rep == nil || len(rep.Errors) == 0 || gate.Decide(rep) != gate.VerdictError {
		return nil
	}
	for _, e := range rep.Errors {
		if !e.Transient {
			return nil
		}
	}
	return transient.Mark(errors.New(outcomeOf(run, pr, rep, policy).Message))
}

// failed is the outcome of an attempt that ended before a verdict (end, or
// an error from below that is not transient). An invalid policy reports
// each of its field problems as a finding of its own.
func failed(run *v1beta1.CustomRun, p *policyload.Policy, err error) outcome {
	o := outcome{Reason: reasonOf(err), Message: err.Error()}
	if p != nil {
		o.Policy = p.String()
	}
	var invalid *v1alpha1.InvalidPolicyError
	if errors.As(err, &invalid) {
		o.Report = undecidedReport(gate.CheckPolicy, runSubject(run), nil)
		for _, msg := range invalid.Problems() {
			o.Report.Errors = append(o.Report.Errors, gate.Finding{Check: gate.CheckPolicy, Subject: runSubject(run), Message: msg, Severity: gate.SeverityError})
		}
	}
	return o
}

// cancelled ends the run as the CustomRun contract requires, with the
// PipelineRun's message. It is never retried: the PipelineRun asked for it
// to stop.
func cancelled(run *v1beta1.CustomRun) outcome {
	msg := string(run.Spec.StatusMessage)
	if msg == "" {
		msg = "CustomRun cancelled before the verification finished."
	}
	return outcome{Reason: ReasonCancelled, Message: msg}
}

// ownerEnded: the PipelineRun that owns the gate has finished, or was
// cancelled in a way that cancels running tasks (Cancelled,
// CancelledRunFinally). Nothing downstream can run after such a gate, so
// it ends as cancelled. A gracefully stopped run (StoppedRunFinally) lets
// running tasks finish: the gate goes on to its verdict.
func ownerEnded(run *v1beta1.CustomRun, pr *v1.PipelineRun) (outcome, bool) {
	switch {
	case pr == nil:
		return outcome{}, false
	case pr.IsDone():
		return outcome{Reason: ReasonCancelled, Message: fmt.Sprintf(
			"%s: pipelinerun/%s/%s finished before the verification did", runSubject(run), pr.Namespace, pr.Name)}, true
	case pr.IsCancelled() || pr.IsGracefullyCancelled():
		return outcome{Reason: ReasonCancelled, Message: fmt.Sprintf(
			"%s: pipelinerun/%s/%s was cancelled (spec.status %s) before the verification finished", runSubject(run), pr.Namespace, pr.Name, pr.Spec.Status)}, true
	}
	return outcome{}, false
}

// timedOut ends the attempt that has run out of spec.timeout: could not
// decide, fail closed.
func timedOut(run *v1beta1.CustomRun) outcome {
	return outcome{Reason: ReasonTimedOut, Message: fmt.Sprintf(
		"%s: no verdict within spec.timeout %s (%s); the run fails closed", runSubject(run), run.GetTimeout(), lastStatus(run))}
}

func lastStatus(run *v1beta1.CustomRun) string {
	if c := run.Status.GetCondition("Succeeded"); c != nil && c.Message != "" {
		return "last status: " + c.Message
	}
	return "verification had not finished"
}

// undecidedReport is a report that could not reach a verdict, with err (if
// any) as its one error finding, transient when err is.
func undecidedReport(check string, subject gate.Subject, err error) *gate.Report {
	rep := &gate.Report{Verdict: gate.VerdictError, Violations: []gate.Finding{}, Warnings: []gate.Finding{}}
	if err != nil {
		rep.Errors = []gate.Finding{{Check: check, Subject: subject, Message: err.Error(), Severity: gate.SeverityError, Transient: transient.Is(err)}}
	}
	return rep
}

func verdictOf(rep *gate.Report) string { return string(gate.Decide(rep)) }
