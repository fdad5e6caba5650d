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
// NONE/INFO/INFORMATIONAL→NEGLIGIBLE; any other word is UNKNOWN.
//
// A finding whose scanner gives no severity word (none, "unknown", or an
// unrecognised word) but CVSS data is rated from its CVSS base score on the
// CVSS v3/v4 qualitative scale (Critical ≥ 9.0, High ≥ 7.0, Medium ≥ 4.0,
// Low ≥ 0.1, None 0.0 = NEGLIGIBLE); vectors (v2.0, v3.0, v3.1, v4.0) are
// scored with github.com/pandatix/go-cvss, a v4.0 vector by its base metrics
// only. The CVSS data read: Trivy's CVSS (every source's V2/V3/V40 vector
// and score), Grype's vulnerability.cvss and relatedVulnerabilities[].cvss
// (vector and metrics.baseScore). The worst rating wins; CVSS v2 has no
// qualitative scale of its own and counts, on the same scale, only when the
// finding has no v3 or v4 data. Finding.SeverityFrom then names the score.
// A scanner's word, when it has one, is its judgement and is kept. Only a
// finding with neither a word nor usable CVSS data is UNKNOWN. CVSS data that
// must be read and is not in the scanner's shape makes the report
// unparseable.
//
// An in-toto severity list is judged by its worst entry: words as above,
// numbers in [0,10] and CVSS vectors rated as above (a method naming CVSS v2
// marks a number as v2); EPSS probabilities are not severities and are
// ignored; with nothing usable the finding is UNKNOWN.
//
// # Fixes
//
// Trivy and Grype say whether a fix exists (FixedVersion/Status, fix.state and
// fix.versions). ignoreUnfixed drops only findings the scanner says have no
// fix (Grype "not-fixed" and "wont-fix"; Trivy without FixedVersion and
// without an unknown status). A scanner that does not know (Grype
// fix.state "unknown" or no state; Trivy Status "unknown" or
// "under_investigation") and the in-toto predicate, which has no such field
// (unless an annotation names a fixed version), set FixUnknown, and
// ignoreUnfixed keeps those findings: dropping them would let an
// unjudgeable finding pass.
//
// # Several scans
//
// Merge combines the scans of one image so Evaluate judges them together:
// any denied finding in any of them is denied.
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
