// Package vuln reads vulnerability findings out of signed attestation
// predicates and judges them against a VulnerabilityPolicy. It has no
// Kubernetes or registry dependency: callers verify the attestation first and
// hand over the predicate bytes (size-bounded by the caller).
//
// Parse understands what scanners really emit:
//
//   - cosign's vuln predicate (https://cosign.sigstore.dev/attestation/vuln/v1,
//     also written without the scheme) whose scanner.result is a Trivy JSON
//     report or a Grype JSON document;
//   - Grype's own predicate (https://grype.anchore.io/scan), a Grype document;
//   - in-toto vulns (https://in-toto.io/attestation/vulns, v0.1 and v0.2),
//     whose scanner.result[] entries carry id and severity[] either directly
//     (the spec's example, v0.2's text) or under "vulnerability" (v0.1's text).
//
// A document in none of these shapes is an error wrapping ErrUnrecognized,
// never an empty Scan: an unreadable report must not pass as a clean one.
//
// # Severities
//
// Severities are normalised to CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE or
// UNKNOWN, case-insensitively. Aliases: MODERATE→MEDIUM, IMPORTANT→HIGH,
// NONE/INFO/INFORMATIONAL→NEGLIGIBLE; any other word is UNKNOWN. An in-toto
// severity list is judged by its worst entry: a numeric score in [0,10] maps by
// the CVSS v3 bands (≥9.0 CRITICAL, ≥7.0 HIGH, ≥4.0 MEDIUM, >0 LOW, 0
// NEGLIGIBLE); a word maps as above; CVSS vectors and EPSS probabilities are
// not severities and are ignored; with nothing usable the finding is UNKNOWN.
//
// # Fixes
//
// Trivy and Grype say whether a fix exists (FixedVersion/Status, fix.state and
// fix.versions). The in-toto predicate has no such field: unless an
// annotation names a fixed version, such a finding has FixUnknown set and
// ignoreUnfixed keeps it, because dropping it would let an unjudgeable
// finding pass.
//
// # Exceptions
//
// An exception applies to findings whose id (or, for Grype, a related id)
// equals its id case-insensitively, on repositories matching one of its image
// globs (path.Match on the repository without tag or digest; no globs means
// every repository), until it expires. A date expiry (2006-01-02) lasts to
// the end of that day in UTC; an RFC 3339 expiry ends at that instant. An
// expired exception no longer applies and is reported as a warning, and so is
// an exception whose expiry or glob cannot be read (it never applies).
package vuln
