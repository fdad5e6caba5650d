// Package provenance reads the SLSA provenance Tekton Chains writes for a
// TaskRun and judges it against a policy's spec.provenance rules.
//
// Chains (v0.26) writes two predicate types, depending on
// artifacts.taskrun.format in chains-config:
//
//   - https://slsa.dev/provenance/v0.2 (formats in-toto and slsa/v1) in an
//     in-toto v0.1 statement: builder.id, invocation.configSource (where the
//     Task came from), materials (step and sidecar images as oci://, git
//     sources as git+…). It names no TaskRun.
//   - https://slsa.dev/provenance/v1 (formats slsa/v2alpha3 and
//     slsa/v2alpha4) in an in-toto v1 statement: runDetails.builder.id,
//     runDetails.metadata.invocationId (the TaskRun's UID),
//     buildDefinition.resolvedDependencies (the Task's source named "task",
//     step and sidecar images, inputs named "inputs/result").
//
// Parse reads either into one Provenance. Rules (compiled from
// spec.provenance) judge one verified statement for one artifact: the
// subject is exactly the artifact's digest, the builder is accepted, the
// provenance is bound to the TaskRun of this run that produced the artifact,
// the build task came from a Tekton bundle pinned by digest and signed by
// bundles.authorities (verified through a BundleVerifier the caller
// supplies, so this package has no registry or Kubernetes client), its
// images are pinned by digest, and its sources match.
//
// Signature verification is not done here: callers pass statements whose
// signature they verified (pkg/verify). Outcomes stay apart: a rule not met
// is a violation; a bundle whose signature could not be checked is
// undecided; a statement that does not parse is an error, which callers
// report as a violation of the attestation (it is signed and wrong).
package provenance
