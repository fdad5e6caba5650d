// Package builds traces the artifacts a gate receives to the TaskRuns of the
// same PipelineRun that built them, and reads what Tekton Chains has done
// with those TaskRuns.
//
// A gate placed after a build task receives images through a parameter such
// as
//
//	params:
//	- name: images
//	  value: ["$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"]
//
// Tekton substitutes the results before it creates the gate's CustomRun.
// Trace pairs each value the gate received with the expression the pipeline
// wrote (PipelineRun.status.pipelineSpec, the copy Tekton runs) to name the
// pipeline task that produced it; Producer finds that task's TaskRun among
// the run's children, owned by this very run; Reports says whether the
// TaskRun reports the artifact in a result Chains signs and attests (its
// type hints: IMAGE_URL/IMAGE_DIGEST, IMAGES, *ARTIFACT_URI/*ARTIFACT_DIGEST,
// *ARTIFACT_OUTPUTS); ChainsState reads Chains' annotation. Look puts these
// together into the one look at a run that the controller and the CLI both
// take while they wait: each artifact's build for gate.Input.Builds, and
// what is still awaited.
//
// Everything here is a pure function of Tekton objects: no client, no
// clock. Expressions are parsed with Tekton's own result-reference functions.
package builds
