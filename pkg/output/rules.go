package output

import "github.com/security-gate/security-gate/pkg/gate"

// rule describes one check id for SARIF's tool.driver.rules.
type rule struct {
	id, name, description string
}

// rules lists every check id of the contract, in a fixed order so that
// SARIF ruleIndex values stay stable from one report to the next.
var rules = []rule{
	{gate.CheckNamespace, "Namespace", "The run's namespace is set and not listed in namespaces.deny."},
	{gate.CheckBundle, "Bundle", "The pipelineRef and every taskRef come from a Tekton bundle (bundles.required), pinned by digest (bundles.requireDigest), and each bundle follows the Tekton bundle contract."},
	{gate.CheckBundleSignature, "BundleSignature", "Every Tekton bundle carries a valid cosign signature of its digest from one of bundles.authorities."},
	{gate.CheckImageDigest, "ImageDigest", "Every step and sidecar image is pinned by digest after parameters are applied (images.requireDigest)."},
	{gate.CheckImageReference, "ImageReference", "Every image reference parses and depends on nothing that is only known once the run has started."},
	{gate.CheckImageSignature, "ImageSignature", "Every image carries a valid cosign signature bound to its digest from one of images.authorities."},
	{gate.CheckAttestation, "Attestation", "Every image carries each attestation of spec.attestations: signed by an allowed authority, for its digest, recent enough and parseable."},
	{gate.CheckVulnerabilities, "Vulnerabilities", "Vulnerability scan attestations list no finding of a denied severity that is not covered by an unexpired exception."},
	{gate.CheckSecurityContext, "SecurityContext", "Every step and sidecar meets the Pod Security Standards level of securityContext.level, with stepTemplate, podTemplate, run overrides and the pod annotations Tekton propagates applied."},
	{gate.CheckGateOrder, "GateOrder", "Nothing in the pipeline can run unless the gate task has succeeded."},
	{gate.CheckUnresolved, "Unresolved", "Every reference (pipelineRef, taskRef, StepAction) could be loaded and no custom task runs what the gate cannot see; content an enabled check needed is never skipped."},
	{gate.CheckPolicy, "Policy", "The policy could be read and is valid."},
	{gate.CheckInput, "Input", "The input manifests could be read and parsed, and what they run can be judged in full."},
	{gate.CheckRegistry, "Registry", "Every registry needed for the verification answered in time."},
}
