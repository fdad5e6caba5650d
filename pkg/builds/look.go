package builds

import (
	"fmt"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/security-gate/security-gate/pkg/gate"
)

// Waiting is one artifact whose build context is not ready yet: its TaskRun
// is not listed or not finished, or Chains has not finished with it.
type Waiting struct {
	Artifact string
	// Why says what is waited for, naming the TaskRun when it is known.
	Why string
	// ChainsOnly: the TaskRun is found and finished; only Chains' verdict
	// is missing. At the end of a wait such an artifact goes to the engine
	// as it is (its BuildRun's Chains state pending: could not decide).
	ChainsOnly bool
}

// Look is one look at a run, shared by every caller that waits for the
// builds of a gate's artifacts (the controller, the CLI): the build context
// of each artifact for gate.Input.Builds, and what is still waited for.
// gateTask and param are as for Locate. An artifact that cannot be traced
// for good gets a Build with Untraced set (the engine judges it); one that
// may still be traced later is only in the waiting list.
func Look(pr *v1.PipelineRun, gateTask, param string, artifacts []string, taskRuns []*v1.TaskRun) (map[string]*gate.Build, []Waiting) {
	located, err := Locate(pr, gateTask, param, artifacts, taskRuns)
	out := map[string]*gate.Build{}
	var w []Waiting
	switch {
	case NotYet(err):
		for _, a := range artifacts {
			w = append(w, Waiting{Artifact: a, Why: err.Error()})
		}
		return out, w
	case err != nil:
		// The values cannot be paired with the pipeline's expressions:
		// none of them is traced.
		for _, a := range artifacts {
			out[a] = &gate.Build{Untraced: err.Error()}
		}
		return out, nil
	}
	for _, b := range located {
		switch {
		case NotYet(b.Err):
			w = append(w, Waiting{Artifact: b.Artifact, Why: b.Err.Error()})
		case b.Err != nil:
			out[b.Artifact] = &gate.Build{Untraced: b.Err.Error()}
		default:
			state := ChainsState(b.TaskRun)
			run := &gate.BuildRun{Namespace: b.TaskRun.Namespace, Name: b.TaskRun.Name, UID: string(b.TaskRun.UID),
				PipelineTask: b.PipelineTask, Result: b.Hint.Result, Chains: string(state)}
			out[b.Artifact] = &gate.Build{TaskRun: run}
			if state == StatePending {
				w = append(w, Waiting{Artifact: b.Artifact, ChainsOnly: true,
					Why: fmt.Sprintf("Tekton Chains has not finished with %s (no %s annotation yet)", run, SignedAnnotation)})
			}
		}
	}
	return out, w
}

// ChainsWaitShare is the part of a gate's time budget (the CustomRun's
// timeout, the CLI's --timeout) spent waiting for the builds and for
// Chains. The rest is left for verifying, so a Chains that never answers is
// reported as such (could not decide, check chains) instead of as a
// verification cut short by the deadline.
const ChainsWaitShare = 0.75
