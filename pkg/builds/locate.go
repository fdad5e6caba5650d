package builds

import (
	"errors"
	"fmt"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"
)

// Build is one artifact a gate received, traced to the TaskRun of the
// PipelineRun that built it.
type Build struct {
	// Artifact is the value as the gate received it.
	Artifact string
	// PipelineTask is the pipeline task that built it; TaskRun its TaskRun
	// (a child of the PipelineRun, controlled by it, finished, reporting
	// Artifact in a result Chains reads). Both are empty when Err is set.
	PipelineTask string
	TaskRun      *v1.TaskRun
	// Hint is the type-hinted result that reports the artifact.
	Hint Hinted
	// Err says why the artifact could not be traced to the TaskRun that
	// built it. It wraps ErrNotYet when a later look may succeed (the
	// TaskRun is not listed or not finished yet); anything else is final.
	Err error
}

// Locate traces each of artifacts, what the gate received in its param
// (e.g. "images"), to the TaskRun of pr that built it, among taskRuns (the
// TaskRuns of pr's namespace).
//
// With gateTask set (the pipeline task that is the gate) it follows the
// expression the pipeline wrote for the param (Trace) to the one pipeline
// task whose results make up the value, and that task's TaskRun (Producer).
// Without gateTask (images given by hand to the CLI) it looks for the one
// child TaskRun of pr that reports the artifact. Either way the TaskRun
// must have succeeded and must report the artifact in a result Chains reads
// (Reports): only then does Chains attest it.
//
// The error is for the whole input (the values cannot be paired with the
// pipeline's expressions); per-artifact problems are in Build.Err.
func Locate(pr *v1.PipelineRun, gateTask, param string, artifacts []string, taskRuns []*v1.TaskRun) ([]Build, error) {
	if pr.Status.PipelineSpec == nil {
		return nil, fmt.Errorf("PipelineRun %s/%s has no status.pipelineSpec: %w", pr.Namespace, pr.Name, ErrNotYet)
	}
	if gateTask == "" {
		out := make([]Build, 0, len(artifacts))
		for _, a := range artifacts {
			out = append(out, search(pr, a, taskRuns))
		}
		return out, nil
	}
	outputs, err := Trace(pr.Status.PipelineSpec, gateTask, param, artifacts)
	if err != nil {
		return nil, err
	}
	out := make([]Build, 0, len(outputs))
	for _, o := range outputs {
		out = append(out, traced(pr, o, taskRuns))
	}
	return out, nil
}

// traced checks the TaskRun of the one pipeline task o's expression names.
func traced(pr *v1.PipelineRun, o Output, taskRuns []*v1.TaskRun) Build {
	b := Build{Artifact: o.Artifact}
	switch len(o.PipelineTasks) {
	case 0:
		b.Err = fmt.Errorf("%q is written %q in the pipeline: not a result of a task of this run, so no TaskRun of it built the artifact", o.Artifact, o.Expression)
		return b
	case 1:
	default:
		b.Err = fmt.Errorf("%q is written %q in the pipeline: made of the results of %s, so no one TaskRun is known to have built it",
			o.Artifact, o.Expression, strings.Join(o.PipelineTasks, " and "))
		return b
	}
	tr, err := Producer(pr, o.PipelineTasks[0], taskRuns)
	if err != nil {
		b.Err = err
		return b
	}
	return checked(b, o.PipelineTasks[0], tr)
}

// search finds the one child TaskRun of pr that reports artifact.
func search(pr *v1.PipelineRun, artifact string, taskRuns []*v1.TaskRun) Build {
	b := Build{Artifact: artifact}
	byName := map[string]*v1.TaskRun{}
	for _, tr := range taskRuns {
		if tr.Namespace == pr.Namespace {
			byName[tr.Name] = tr
		}
	}
	var found []Build
	var waiting []string
	for _, c := range pr.Status.ChildReferences {
		if c.Kind != "" && c.Kind != "TaskRun" {
			continue
		}
		tr, ok := byName[c.Name]
		switch {
		case !ok:
			waiting = append(waiting, c.Name+" (not listed yet)")
			continue
		case !controlledBy(tr, pr):
			continue
		case !tr.IsDone():
			waiting = append(waiting, c.Name+" (not finished)")
			continue
		}
		if h, ok := Reports(tr, artifact); ok {
			found = append(found, Build{Artifact: artifact, PipelineTask: c.PipelineTaskName, TaskRun: tr, Hint: h})
		}
	}
	switch {
	case len(found) == 1:
		return checked(b, found[0].PipelineTask, found[0].TaskRun)
	case len(found) > 1:
		names := make([]string, 0, len(found))
		for _, f := range found {
			names = append(names, f.TaskRun.Name)
		}
		b.Err = fmt.Errorf("%s is reported by %d TaskRuns of PipelineRun %s/%s (%s): cannot tell which one built it",
			artifact, len(found), pr.Namespace, pr.Name, strings.Join(names, ", "))
	case len(waiting) > 0:
		b.Err = fmt.Errorf("no finished TaskRun of PipelineRun %s/%s reports %s yet (waiting for %s): %w",
			pr.Namespace, pr.Name, artifact, strings.Join(waiting, ", "), ErrNotYet)
	default:
		b.Err = fmt.Errorf("no TaskRun of PipelineRun %s/%s reports %s in a result Chains reads (%s): it was not built by this run",
			pr.Namespace, pr.Name, artifact, hintNames)
	}
	return b
}

// checked requires tr to have succeeded and to report b.Artifact.
func checked(b Build, pipelineTask string, tr *v1.TaskRun) Build {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case c == nil || c.IsUnknown():
		b.Err = fmt.Errorf("TaskRun %s/%s of pipeline task %q has not finished: %w", tr.Namespace, tr.Name, pipelineTask, ErrNotYet)
		return b
	case c.IsFalse():
		b.Err = fmt.Errorf("TaskRun %s/%s of pipeline task %q did not succeed (%s: %s): what it reports was not built",
			tr.Namespace, tr.Name, pipelineTask, c.Reason, c.Message)
		return b
	}
	h, ok := Reports(tr, b.Artifact)
	if !ok {
		b.Err = fmt.Errorf("TaskRun %s/%s of pipeline task %q does not report %s in a result Chains reads (%s), so Chains does not attest it",
			tr.Namespace, tr.Name, pipelineTask, b.Artifact, hintNames)
		return b
	}
	b.PipelineTask, b.TaskRun, b.Hint = pipelineTask, tr, h
	return b
}

// hintNames lists the type hints Outputs reads, for messages.
const hintNames = "IMAGE_URL with IMAGE_DIGEST, IMAGES, *ARTIFACT_URI with *ARTIFACT_DIGEST, *ARTIFACT_OUTPUTS"

// controlledBy: tr's controller owner reference carries pr's UID.
func controlledBy(tr *v1.TaskRun, pr *v1.PipelineRun) bool {
	for _, o := range tr.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.UID == pr.UID {
			return true
		}
	}
	return false
}

// NotYet reports whether err says the run has not got there yet.
func NotYet(err error) bool { return errors.Is(err, ErrNotYet) }
