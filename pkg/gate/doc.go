// Package gate is the verification engine of security-gate.
//
// It takes a policy (v1alpha1.SecurityGateSpec) and the Tekton objects of one
// run, and returns a Report. It links no Kubernetes client, no registry
// client and none of Tekton's reconciler packages (test/imports enforces
// it): referenced objects come through a Resolver and every
// check that needs an OCI registry goes through an ArtifactVerifier, so the
// CLI (files, a registry) and the controller (listers, Tekton's
// ResolutionRequests) share the engine unchanged.
//
// Three outcomes are kept apart everywhere: passed, policy violation, and
// could not decide. An error, a timeout or an unresolvable reference never
// yields a pass.
//
// # What is verified
//
// Roots are every PipelineRun and TaskRun, then every Pipeline, Task and
// StepAction that no reference resolved to: a reference by name is matched
// by namespace and name, as the Resolver matches it, never by name alone,
// and a bundle reference never stands for a given object. Those are
// verified alone with their parameter defaults (a StepAction as the one
// step of a task), so nothing given passes unjudged. A Subject (subject.go)
// names what a finding is about, as fields (object, pipeline task, step or
// sidecar, image); its String form is the report's wire form:
// "pipelinerun/<ns>/<name> task=<pipeline task> step=<step>",
// "pipeline/[<ns>/]<name> task=…", "taskrun/<ns>/<name> step=…",
// "task/[<ns>/]<name> step=…", "stepaction/[<ns>/]<name> step=…",
// "sidecar=<name>" for sidecars, and the image reference for registry
// findings.
//
// A live PipelineRun (Input.Live: the controller, verify --pipelinerun) is
// judged on status.pipelineSpec, the copy of the pipeline Tekton recorded
// and runs; its pipelineRef is still checked for the bundle rules and the
// bundle's signature. Its tasks are what the Resolver loads: the
// ResolutionRequests Tekton completed for the run (bundles, remote
// resolvers), or the Task of the run's namespace for a taskRef by name,
// which Tekton reads again when the TaskRun starts.
//
// Parameters are applied as Tekton's reconcilers apply them
// (substitute.go: Tekton keeps that code in reconciler packages the engine
// must not link, so it is restated on Tekton's pure substitution functions
// and compared with Tekton's own in tests), StepActions are merged as the
// TaskRun reconciler merges them, and the stepTemplate with
// v1.MergeStepsWithStepTemplate. v1beta1 objects are converted to v1 in one
// place, ToV1.
// Context variables are not substituted: an image that needs one, or a
// result of another task, is an image-reference violation. (In a recorded
// pipelineSpec Tekton has substituted the pipeline-level ones already.)
//
// # Design decisions
//
//   - unresolved: a reference that cannot be loaded (ErrNotFound,
//     ErrUnsupported, no Resolver) is a warning, or a violation when an
//     enabled check needed the content: for a task or StepAction that is
//     securityContext.level other than privileged, images.requireDigest,
//     images.authorities or attestations; for a pipeline also
//     bundles.required or gateOrder other than Off. Any other Resolver error
//     is an error finding (Transient per transient.Is). A custom task other
//     than the gate is judged the same way (another controller runs it, and
//     it may start pods the gate cannot see), unless the policy lists its
//     kind in customTasks.noPods: then it is a warning.
//   - bundle: an embedded taskSpec inside a pipeline read from a bundle is
//     part of that bundle and passes bundles.required; an embedded
//     pipelineSpec or taskSpec anywhere else does not.
//   - gate-order: checked on each pipeline that contains a gate (a custom
//     task of securitygate.dev, kind SecurityGate or ClusterSecurityGate, or
//     the task named by Options.GateTask). Every task that is not downstream
//     of a gate through runAfter or result references (Tekton's Deps),
//     transitively, is reported, including tasks the gate waits for; `when`
//     and onError: continue on the gate and a gate in finally are reported;
//     each finally task is a warning. A pipeline without a gate is skipped
//     unless Options.RequireGate (the controller).
//   - matrix: when every matrix value is known after the pipeline's
//     parameters are applied, images are checked for each combination of
//     Tekton's own fan-out (include entries too). A value that comes from a
//     result is passed on as written, so an image built from it is an
//     image-reference violation, never verified with a guess; include
//     entries are judged both applied and not applied to the combinations
//     whose match depends on such a value, and on their own. More than 256
//     combinations (Tekton's default max-matrix-combinations-count) is
//     could not decide, never a silent truncation.
//   - security-context: a Pod is synthesized per task execution and
//     evaluated with k8s.io/pod-security-admission (default checks, latest
//     version). Its containers carry Tekton's names (step-<name>,
//     sidecar-<name>) and its annotations are the ones Tekton copies onto
//     the Pod: the PipelineRun's (with the Pipeline's), taskRunSpecs[]
//     metadata, an embedded taskSpec's metadata and the Task's, in Tekton's
//     order of precedence (podmeta.go); an AppArmor annotation addressed to
//     a step or sidecar is judged with that container. The podTemplate is
//     the PipelineRun's taskRunTemplate merged with taskRunSpecs[] as
//     Tekton's GetTaskRunSpec does (or the TaskRun's), with parameters
//     applied; stepSpecs and sidecarSpecs only change compute resources in
//     Tekton and cannot change the result. Pod-level failures name the task,
//     container failures the step or sidecar and the rule. Containers Tekton
//     injects itself are not evaluated, and the set-security-context feature
//     flag (which only affects those) is not consulted.
//   - registry: every distinct image reference is resolved to a digest once
//     per run and VerifyImage is called once per distinct digest, on a pool
//     of Options.Concurrency workers, and only when the policy has image
//     authorities or attestations. Bundles are pinned (BundlePinner first,
//     else ArtifactVerifier.ResolveDigest), verified at that digest once, and
//     read with Ref.Bundle set to the digest form; the resolver params keep
//     the reference as written. Without an ArtifactVerifier, configured
//     image/attestation/bundle authorities yield unresolved violations.
//   - verdict: Warn mode turns violations into warnings. Decide is the one
//     verdict rule: a violation fails the run even when something else
//     could not be decided (those findings stay listed); otherwise an error
//     finding gives VerdictError, a warning VerdictWarn. The CLI and the
//     controller map Decide's answer and have no rule of their own.
//     Findings are deduplicated and sorted by task, subject, check and
//     message.
package gate
