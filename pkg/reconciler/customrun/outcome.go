package customrun

import (
	"context"
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/pkg/gate"
)

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
			o.Message += ": " + rep.Errors[0].Subject + ": " + rep.Errors[0].Message
		} else {
			o.Message += fmt.Sprintf(" (the report says %q with %d violation(s), %d warning(s); failing closed)", rep.Verdict, len(rep.Violations), len(rep.Warnings))
		}
	}
	return o
}

// transient reports whether a report is undecided only for reasons that may
// go away on retry (registry 5xx, timeouts, connection resets). A report
// with a violation is decided (fail), whatever else it holds: it is never
// retried.
func transient(rep *gate.Report) bool {
	if rep == nil || len(rep.Errors) == 0 || gate.Decide(rep) != gate.VerdictError {
		return false
	}
	for _, e := range rep.Errors {
		if !e.Transient {
			return false
		}
	}
	return true
}

func verdictOf(rep *gate.Report) string { return string(gate.Decide(rep)) }

// imagesParam reads the gate task's params: only `images` (array; a string
// is taken as one image). Any other param is an error, so a typo such as
// `image` cannot silently verify nothing.
func imagesParam(run *v1beta1.CustomRun) ([]string, error) {
	var images []string
	for _, p := range run.Spec.Params {
		if p.Name != ParamImages {
			return nil, fmt.Errorf("%s: spec.params: unknown param %q; the gate accepts only %q (array of image references)", runSubject(run), p.Name, ParamImages)
		}
		vals := p.Value.ArrayVal
		switch p.Value.Type {
		case v1beta1.ParamTypeString:
			vals = []string{p.Value.StringVal}
		case v1beta1.ParamTypeArray:
		default:
			return nil, fmt.Errorf("%s: spec.params %q must be an array of image references, not %s", runSubject(run), ParamImages, p.Value.Type)
		}
		for i, v := range vals {
			if v == "" {
				return nil, fmt.Errorf("%s: spec.params %s[%d] is empty; every entry must be an image reference", runSubject(run), ParamImages, i)
			}
		}
		images = append(images, vals...)
	}
	return images, nil
}

// owner returns the PipelineRun that owns run: the one its
// tekton.dev/pipelineRun label names, confirmed by the controller
// ownerReference's UID (a label alone can be written by anyone who creates
// a CustomRun). nil, nil: no PipelineRun owns it.
func (r *Reconciler) owner(ctx context.Context, run *v1beta1.CustomRun) (*v1.PipelineRun, *policyError) {
	ref := metav1.GetControllerOf(run)
	isPR := ref != nil && ref.Kind == pipeline.PipelineRunControllerName
	name := run.Labels[pipeline.PipelineRunLabelKey]
	switch {
	case name == "" && !isPR:
		return nil, nil
	case name == "":
		name = ref.Name
	case !isPR:
		return nil, permanent(ReasonVerificationError, "%s: labelled %s=%s but its controller ownerReference is not a PipelineRun; refusing to judge a run by a PipelineRun that does not own it",
			runSubject(run), pipeline.PipelineRunLabelKey, name)
	}
	pr, err := r.Source.PipelineRun(ctx, run.Namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, &policyError{Reason: ReasonVerificationError, Transient: true,
			Message: fmt.Sprintf("%s: owning pipelinerun/%s/%s not found (yet)", runSubject(run), run.Namespace, name)}
	}
	if err != nil {
		return nil, &policyError{Reason: ReasonVerificationError, Transient: true,
			Message: fmt.Sprintf("%s: reading pipelinerun/%s/%s: %v", runSubject(run), run.Namespace, name, err)}
	}
	if ref.Name != pr.Name || ref.UID != pr.UID {
		return nil, permanent(ReasonVerificationError, "%s: labelled %s=%s but owned by %s %q (uid %s), not by that PipelineRun (uid %s)",
			runSubject(run), pipeline.PipelineRunLabelKey, name, ref.Kind, ref.Name, ref.UID, pr.UID)
	}
	return pr, nil
}
