// Package gate is the verification engine of security-gate.
//
// It takes a policy (v1alpha1.SecurityGateSpec) and the Tekton objects of one
// run, and returns a Report. It holds no Kubernetes client and no registry
// client of its own: referenced objects come through a Resolver and every
// check that needs an OCI registry goes through an ArtifactVerifier, so the
// CLI (files, a registry) and the controller (listers, Tekton's
// ResolutionRequests) share the engine unchanged.
//
// Three outcomes are kept apart everywhere: passed, policy violation, and
// could not decide. An error, a timeout or an unresolvable reference never
// yields a pass.
package gate
