package gate

import "context"

// ArtifactVerifier performs every check that needs an OCI registry. It is
// built for one policy (its authorities, attestation rules and exclusions) and
// may share caches across runs. Findings it returns carry the check ids
// CheckBundleSignature, CheckBundle, CheckImageSignature, CheckAttestation and
// CheckVulnerabilities; a returned error means "could not decide".
type ArtifactVerifier interface {
	// ResolveDigest returns the digest form (repo@sha256:…) of an image or
	// bundle reference; a reference already pinned by digest is returned as is.
	ResolveDigest(ctx context.Context, ref string) (string, error)

	// VerifyBundle verifies the signature of a bundle at a digest against the
	// policy's bundles.authorities.
	VerifyBundle(ctx context.Context, digestRef string) ([]Finding, error)

	// VerifyImage verifies the signature and the attestations of an image at a
	// digest against the policy's images and attestations rules. Subject is
	// the image reference as the run wrote it, used in findings.
	VerifyImage(ctx context.Context, target ImageTarget) (ImageResult, error)
}

// ImageTarget is one distinct image of a run.
type ImageTarget struct {
	// Ref is the reference as written (after parameter substitution).
	Ref string
	// Digest is repo@sha256:… as resolved once for the run.
	Digest string
	// Build is set when the image is an artifact the gate received whose
	// signed provenance spec.provenance judges (build.go): the TaskRun of
	// the run that built it, or none for an offline check.
	Build *Build
}

// ImageResult is what VerifyImage found.
type ImageResult struct {
	Findings []Finding
	// Verified is true when the signature and every required attestation
	// verified (the image may still have warnings).
	Verified bool
	// Excluded is true when images.exclude matched and nothing was checked.
	Excluded bool
	// Notes are information that changes no verdict (notes.go).
	Notes []Note
	// Evidence lists the signed attestations and documents a Verified
	// result relied on.
	Evidence []Evidence
}
