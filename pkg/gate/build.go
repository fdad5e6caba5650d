package gate

import (
	"fmt"
	"sort"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// Check ids of a gate that verifies what an earlier task of the run built.
const (
	// CheckProvenance: the signed SLSA provenance of an artifact the gate
	// received does not meet spec.provenance, or the artifact cannot be
	// tied to the TaskRun of this run that built it.
	CheckProvenance = "provenance"
	// CheckChains: Tekton Chains marked the TaskRun that built an artifact
	// failed, or had not finished with it.
	CheckChains = "chains"
)

// Chains' verdicts on a TaskRun (its chains.tekton.dev/signed annotation).
const (
	ChainsSigned = "true"
	ChainsFailed = "failed"
)

// Build says where an artifact the gate received (an entry of
// Input.Images) was built. With spec.provenance, the artifact's provenance
// must name exactly that TaskRun.
type Build struct {
	// TaskRun is the TaskRun of the run that built the artifact. Nil: none
	// is known; Untraced says why (a live run), or, when empty, there is no
	// run at all (an offline check: the run binding cannot be compared).
	TaskRun *BuildRun
	// Untraced says why the artifact could not be traced to a TaskRun of
	// the run that built it (e.g. written literally in the pipeline).
	Untraced string
}

// BuildRun identifies the TaskRun that built an artifact.
type BuildRun struct {
	Namespace, Name string
	UID             string
	// PipelineTask is its pipeline task; Result the type-hinted result(s)
	// reporting the artifact (e.g. IMAGE_URL+IMAGE_DIGEST).
	PipelineTask, Result string
	// Chains is the TaskRun's chains.tekton.dev/signed annotation:
	// ChainsSigned, ChainsFailed, or anything else for "not done yet".
	Chains string
}

func (b *BuildRun) String() string {
	return fmt.Sprintf("TaskRun %s/%s (pipeline task %q, uid %s)", b.Namespace, b.Name, b.PipelineTask, b.UID)
}

// buildState is what one Verify call knows about the artifacts it received.
type buildState struct {
	// builds holds the build context each judged artifact's provenance is
	// judged with, by the reference as given.
	builds map[string]*Build
	// artifacts are the references of Input.Images; blocked those that
	// already failed or could not be decided before any registry read.
	artifacts, blocked map[string]bool
	// digests are the digests of the artifacts, and whether each may be
	// listed as verified (no reference of it blocked).
	digests map[string]bool
}

// provenanceChecks: the policy judges the provenance of the artifacts the
// gate receives.
func (r *run) provenanceChecks() bool { return r.policy.Provenance != nil }

// bindingRequired: spec.provenance.runBinding is not Off.
func (r *run) bindingRequired() bool {
	return r.policy.Provenance != nil && r.policy.Provenance.RunBinding != v1alpha1.ProvenanceOff
}

// planBuilds decides, for each artifact of in.Images, with which build
// context its provenance is judged (r.builds, by the reference as given).
// An artifact that cannot be judged is reported here: in a live run, one
// not traced to a TaskRun of the run (when the binding is required), and
// one whose TaskRun Chains failed or has not finished with.
func (r *run) planBuilds(in Input) {
	if !r.provenanceChecks() {
		return
	}
	st := &r.buildState
	st.builds, st.artifacts, st.blocked, st.digests = map[string]*Build{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, img := range in.Images {
		if img == "" || r.images[img] == nil {
			continue // not a verifiable reference: reported by checkExtraImages
		}
		st.artifacts[img] = true
		st.blocked[img] = true // until a build context is chosen below
		b := in.Builds[img]
		switch {
		case b == nil || b.TaskRun == nil:
			if in.Live && r.bindingRequired() {
				why := "it is not traced to a TaskRun of this run"
				if b != nil && b.Untraced != "" {
					why = b.Untraced
				}
				r.violation(CheckProvenance, "", ImageSubject(img),
					"artifact %s cannot be bound to the TaskRun of this run that built it: %s; spec.provenance.runBinding Required accepts only artifacts "+
						"passed from a build task's type-hinted results (e.g. $(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST))", img, why)
				continue
			}
			// No run to bind to: an offline check, or runBinding Off.
			st.builds[img] = &Build{}
			delete(st.blocked, img)
		case b.TaskRun.Chains == ChainsFailed:
			r.violation(CheckChains, "", ImageSubject(img),
				"Tekton Chains marked %s, which built %s, chains.tekton.dev/signed=%q: it could not sign or store the signature and provenance",
				b.TaskRun, img, ChainsFailed)
		case b.TaskRun.Chains != ChainsSigned:
			r.errorf(CheckChains, "", ImageSubject(img), false,
				"could not decide: Tekton Chains has not finished with %s, which built %s (chains.tekton.dev/signed=%q): its provenance is not known yet",
				b.TaskRun, img, b.TaskRun.Chains)
		default:
			c := *b
			run := *b.TaskRun
			c.TaskRun = &run
			st.builds[img] = &c
			delete(st.blocked, img)
		}
	}
}

// buildOf returns the build context of the image target whose references
// are refs (the references of one digest), or nil when none of them is an
// artifact whose provenance is judged. With several, the first that names
// a TaskRun wins: a digest built by this run is bound to that run.
func (r *run) buildOf(refs []string) *Build {
	var offline *Build
	for _, ref := range refs {
		b := r.buildState.builds[ref]
		switch {
		case b == nil:
		case b.TaskRun != nil:
			return b
		case offline == nil:
			offline = b
		}
	}
	return offline
}

// noteArtifact records, for the digest d whose references are refs, whether
// it is an artifact the gate received and whether it may be listed as
// verified.
func (r *run) noteArtifact(d string, refs []string) {
	st := &r.buildState
	if st.artifacts == nil {
		return
	}
	for _, ref := range refs {
		if !st.artifacts[ref] {
			continue
		}
		if ok, seen := st.digests[d]; !seen || ok {
			st.digests[d] = !st.blocked[ref]
		}
	}
}

// verifiedArtifacts keeps, when the policy judges provenance, only the
// digests of the artifacts the gate received: what a release gate passes
// on to deploy is exactly what was built and verified, not the step images
// of the pipeline it also judged.
func (r *run) verifiedArtifacts(verified []string) []string {
	if !r.provenanceChecks() {
		return verified
	}
	out := []string{}
	for _, d := range verified {
		if r.buildState.digests[d] {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// decidedBeforeRegistry: img is an artifact the gate received that
// planBuilds already failed or left undecided (Chains failed or has not
// finished, or it is not traced to a build of the run), and no task of the
// pipeline runs it. Its registry checks are skipped: before Chains has
// finished, a missing signature is expected and would misreport the
// outcome as a violation, and the finding already recorded keeps the run
// from passing.
func (r *run) decidedBeforeRegistry(img string) bool {
	if !r.buildState.blocked[img] {
		return false
	}
	for task := range r.images[img] {
		if task != "" {
			return false
		}
	}
	return true
}
