// Package transient is the one way security-gate says "this may go away if
// the same work is tried again later": a registry answering 503, a request
// that ran out of time, a Tekton resolution not finished yet, an API server
// that did not answer.
//
// An error is marked where it arises (Mark, API), by the code that knows
// what failed: pkg/oci for registry requests, pkg/trustroot for TUF
// repositories, pkg/pipelinerunresolver and pkg/policyload for the
// Kubernetes API. Everything above reads it with Is and nothing else: the
// engine copies it into gate.Finding.Transient, the controller retries
// such an attempt with backoff instead of ending it, the CLI still exits 2.
// A transient error is "could not decide", never a pass and never a
// violation.
package transient
