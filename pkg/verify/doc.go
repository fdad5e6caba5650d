// Package verify implements gate.ArtifactVerifier: every check of a
// security-gate policy that needs an OCI registry.
//
// For one image digest it verifies
//
//   - image-signature: a cosign signature from one of images.authorities, in
//     either layout cosign users have: the classic `sha256-<hex>.sig` tag
//     (cosign v2, and v3 with --new-bundle-format=false), checked with
//     cosign's SimpleClaimVerifier so that a signature copied from another
//     image does not verify; or a Sigstore bundle attached as an OCI 1.1
//     referrer (cosign v3's default), also found through the
//     `sha256-<hex>` fallback index tag of registries without the referrers
//     API;
//   - attestation: for each spec.attestations entry, a signed in-toto
//     statement of one of the entry's predicate types, whose subject is the
//     image digest, with a predicate that parses (vulnerability reports
//     through pkg/vuln, SLSA provenance by its required fields), younger
//     than maxAge by its finish time;
//   - vulnerabilities: the parsed scan judged by pkg/vuln.Evaluate.
//
// and for a Tekton bundle digest the bundle-signature (against
// bundles.authorities) and the bundle contract (pkg/bundle).
//
// Outcomes stay apart: unsigned, wrongly signed, copied, for another digest,
// stale or unparseable are findings (violations); a registry that fails
// (after pkg/oci's bounded retries) or stalls, or trust material that is not
// available, is a returned error (could not decide). A missing classic tag
// (404 or MANIFEST_UNKNOWN) means "no signature", a violation.
//
// Successful verifications are cached (Cache, keyed by repository, digest,
// check and a fingerprint of the authorities and rule; TTL and size bound;
// singleflight), shared by default across every Verifier of the process.
// Time-dependent judgements (maxAge, exception expiry) are re-applied to
// cached attestations on every run.
package verify
