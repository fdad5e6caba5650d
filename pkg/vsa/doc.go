// Package vsa writes and judges verification summary attestations
// (https://slsa.dev/verification_summary/v1, VSA): after a gate passes, a
// signed statement that an image met a named policy, so a later gate can
// accept it instead of verifying the image again.
//
// # What a summary says
//
// The in-toto statement's subject is exactly the image digest; its
// predicate names the verifier (verifier.id, and the gate's version), the
// time from the caller's clock (timeVerified), the image as
// registry/repository@sha256:<hex> (resourceUri), the policy by URI (PolicyRef.URI:
// https://securitygate.dev/v1alpha1/clustersecuritygates/<name>, or
// …/namespaces/<ns>/securitygates/<name>) with the sha256 of its defaulted
// spec as JSON (SpecDigest), verificationResult PASSED, verifiedLevels
// [SLSA_BUILD_LEVEL_UNEVALUATED] (the gate judges a policy, not a SLSA
// track) and inputAttestations: every signed attestation and VEX document
// the verdict relied on, by digest.
//
// # Where it goes
//
// Signed with a cosign key (Signer) as a DSSE envelope, attached in the
// cosign classic layout (a layer of the sha256-<hex>.att tag) and/or as a
// Sigstore bundle referrer (OCI 1.1, or the referrers fallback tag on
// registries without the API), so `cosign verify-attestation --type
// https://slsa.dev/verification_summary/v1` of cosign v2 and v3 verifies it.
// A new summary replaces the summaries this same key wrote earlier for the
// same policy on the same image (a classic layer is replaced, a referrer
// deleted), so passes do not pile up attachments without bound.
//
// # When a summary is accepted
//
// Accept judges a summary whose signature the caller already verified
// against the accepting policy's authorities: its subject is the digest,
// its resourceUri names that digest, it says PASSED, its policy is one the
// accepting policy lists (kind, name, namespace, and the spec digest when
// pinned), and timeVerified is within maxAge and not in the future beyond
// ClockSkew. Anything else is a reason not to accept it, never a pass.
package vsa
