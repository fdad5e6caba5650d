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
//   - attestation: for each spec.attestations entry, every signed in-toto
//     statement of one of the entry's predicate types in both layouts (the
//     .att tag and Sigstore bundles), whose subject is the image digest and
//     which verifies against the entry's authorities; each must have a
//     predicate that parses (vulnerability reports through pkg/vuln, SLSA
//     provenance by its required fields) and must not be dated more than
//     ClockSkew ahead of the clock, and the newest must be younger than
//     maxAge by its finish time (judge.go states the rule);
//   - vulnerabilities: every verified scan not older than maxAge, judged
//     together by pkg/vuln.Evaluate over their Merge.
//
// and for a Tekton bundle digest the bundle-signature (against
// bundles.authorities) and the bundle contract (pkg/bundle).
//
// Keyless authorities, and keys whose signatures must carry a
// transparency-log proof, verify against a Sigstore trusted root:
// trustedRoot.data, the authority's keyless.tuf repository, or the public
// instance's, all from the process's trustroot.Pool (Options.TrustRoots), a
// lookup waiting at most the registry timeout. Log entries and RFC 3161
// timestamps a signature carries establish when it was made, in both
// layouts (timestamps.go).
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
// An attestation entry holds every verified attestation of the digest;
// time-dependent judgements (maxAge, ClockSkew, exception expiry) are
// re-applied to them on every run from the Verifier's clock.
package verify
