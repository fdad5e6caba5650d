package vuln

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Predicate types Parse understands.
const (
	PredicateCosignVuln  = "https://cosign.sigstore.dev/attestation/vuln/v1"
	PredicateGrype       = "https://grype.anchore.io/scan"
	PredicateInTotoVulns = "https://in-toto.io/attestation/vulns"
	// PredicateInTotoVulnsV01 and V02 are the versioned forms the spec's
	// examples use.
	PredicateInTotoVulnsV01 = PredicateInTotoVulns + "/v0.1"
	PredicateInTotoVulnsV02 = PredicateInTotoVulns + "/v0.2"
)

// PredicateTypes lists every predicate type the short name "vuln" stands for,
// in the form attestations carry them.
var PredicateTypes = []string{
	PredicateCosignVuln,
	strings.TrimPrefix(PredicateCosignVuln, "https://"),
	PredicateGrype,
	PredicateInTotoVulns,
	PredicateInTotoVulnsV01,
	PredicateInTotoVulnsV02,
}

// IsVulnPredicateType reports whether Parse understands predicateType.
func IsVulnPredicateType(predicateType string) bool {
	return kindOf(predicateType) != kindNone
}

// ErrUnrecognized is wrapped by every Parse error: the predicate is not a
// vulnerability report in a shape this package reads. Callers report it as an
// unparseable attestation, never as zero findings.
var ErrUnrecognized = errors.New("unrecognized vulnerability report")

// UnrecognizedError is the error Parse returns; errors.Is(err,
// ErrUnrecognized) holds for it.
type UnrecognizedError struct {
	PredicateType string
	// Reason names the field that was missing or malformed.
	Reason string
}

func (e *UnrecognizedError) Error() string {
	return fmt.Sprintf("%v: predicate type %s: %s", ErrUnrecognized, e.PredicateType, e.Reason)
}

// Is makes errors.Is(err, ErrUnrecognized) true.
func (e *UnrecognizedError) Is(target error) bool { return target == ErrUnrecognized }

// Severity is a normalised severity.
type Severity string

const (
	SeverityCritical   Severity = "CRITICAL"
	SeverityHigh       Severity = "HIGH"
	SeverityMedium     Severity = "MEDIUM"
	SeverityLow        Severity = "LOW"
	SeverityNegligible Severity = "NEGLIGIBLE"
	SeverityUnknown    Severity = "UNKNOWN"
)

// rank orders severities; unknown words rank with UNKNOWN.
func (s Severity) rank() int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityNegligible:
		return 1
	}
	return 0
}

// NormalizeSeverity maps a scanner's or a policy's severity word to a
// Severity; ok is false when the word is not a known severity (the result is
// then UNKNOWN).
func NormalizeSeverity(word string) (s Severity, ok bool) {
	switch strings.ToUpper(strings.TrimSpace(word)) {
	case "CRITICAL":
		return SeverityCritical, true
	case "HIGH", "IMPORTANT":
		return SeverityHigh, true
	case "MEDIUM", "MODERATE":
		return SeverityMedium, true
	case "LOW":
		return SeverityLow, true
	case "NEGLIGIBLE", "NONE", "INFO", "INFORMATIONAL":
		return SeverityNegligible, true
	case "UNKNOWN":
		return SeverityUnknown, true
	}
	return SeverityUnknown, false
}

// wordOrScore reads one in-toto severity score: a severity word, a number
// in [0,10] or a CVSS vector, the last two rated with go-cvss. method is the
// entry's method, which may say the CVSS version of a bare number. ok is
// false for anything else (EPSS probabilities, garbage, "unknown").
func wordOrScore(method, score string, vote *severityVote) (word Severity, ok bool) {
	score = strings.TrimSpace(score)
	if f, err := strconv.ParseFloat(score, 64); err == nil {
		vote.score(&f, versionOfMethod(method))
		return SeverityUnknown, false
	}
	if r, ok := ratingOfVector(score); ok {
		vote.add(r)
		return SeverityUnknown, false
	}
	s, ok := NormalizeSeverity(score)
	if s == SeverityUnknown {
		// "unknown" says nothing; let other entries decide.
		return s, false
	}
	return s, ok
}

// versionOfMethod reads a CVSS version out of an in-toto severity method
// such as "CVSS_V2" or "cvssv3.1"; "" when it names none.
func versionOfMethod(method string) string {
	m := strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(strings.ToLower(method))
	switch {
	case strings.Contains(m, "cvssv2"), strings.Contains(m, "cvss2"):
		return "2.0"
	case strings.Contains(m, "cvssv4"), strings.Contains(m, "cvss4"):
		return "4.0"
	}
	return ""
}

// Scanner identifies the tool that produced a scan.
type Scanner struct {
	// Name is the tool's name (e.g. trivy, grype), derived from its URI when
	// the document gives no name.
	Name    string
	Version string
	// URI is the scanner.uri of cosign and in-toto predicates.
	URI string
}

// Finding is one reported vulnerability in one package.
type Finding struct {
	ID       string
	Severity Severity
	// SeverityFrom names the CVSS base score Severity was rated from (e.g.
	// "CVSS 3.1 9.8") when the report gave no severity word; empty when the
	// scanner's own word was used.
	SeverityFrom string
	// Package is the affected package name, when the document says.
	Package string
	// FixedVersion lists the fixed version(s), comma-separated; may be empty
	// even when Fixed is true (a "fixed" status without a version).
	FixedVersion string
	// Fixed is true when the scanner reports a fix.
	Fixed bool
	// FixUnknown is true when the document does not know whether a fix
	// exists (no fix information, Grype's fix.state "unknown", Trivy's
	// Status "unknown" or "under_investigation"): ignoreUnfixed keeps it.
	FixUnknown bool
	// Aliases are related ids (Grype's relatedVulnerabilities).
	Aliases []string
	// PURL is the affected package's package URL when the scanner gives
	// one (Trivy PkgIdentifier.PURL, Grype artifact.purl): what a VEX
	// statement's subcomponent names.
	PURL string
}

// Scan is a parsed vulnerability report.
type Scan struct {
	// PredicateType is the type Parse was given.
	PredicateType string
	// Format is "trivy", "grype" or "in-toto": the shape the findings came in.
	Format  string
	Scanner Scanner
	// FinishedOn is when the scan finished; zero when the document does not
	// say (cosign writes 0001-01-01T00:00:00Z). A caller enforcing maxAge must
	// treat zero as too old.
	FinishedOn time.Time
	Findings   []Finding
}

type predicateKind int

const (
	kindNone predicateKind = iota
	kindCosign
	kindGrype
	kindInToto
)

func kindOf(predicateType string) predicateKind {
	t := strings.TrimSuffix(strings.TrimPrefix(predicateType, "https://"), "/")
	switch t {
	case "cosign.sigstore.dev/attestation/vuln/v1":
		return kindCosign
	case "grype.anchore.io/scan":
		return kindGrype
	case "in-toto.io/attestation/vulns", "in-toto.io/attestation/vulns/v0.1", "in-toto.io/attestation/vulns/v0.2":
		return kindInToto
	}
	return kindNone
}

// Parse reads the predicate of an attestation of type predicateType. Every
// error is an *UnrecognizedError (errors.Is ErrUnrecognized) naming what was
// wrong. Parse never panics on
// hostile input; the caller bounds its size.
func Parse(predicateType string, predicate []byte) (*Scan, error) {
	var (
		s   *Scan
		err error
	)
	switch kindOf(predicateType) {
	case kindCosign:
		s, err = parseCosign(predicate)
	case kindGrype:
		s, err = parseGrypeDoc(predicate, "")
	case kindInToto:
		s, err = parseInToto(predicate)
	default:
		return nil, &UnrecognizedError{PredicateType: predicateType,
			Reason: "not a vulnerability scan (expected one of " + strings.Join(PredicateTypes, ", ") + ")"}
	}
	if err != nil {
		return nil, &UnrecognizedError{PredicateType: predicateType, Reason: err.Error()}
	}
	s.PredicateType = predicateType
	return s, nil
}

// parseTime reads an optional RFC 3339 timestamp; "" and the zero time give
// the zero time.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time", field, v)
	}
	if t.IsZero() {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

// scannerName derives a tool name from a package URL such as
// pkg:github/aquasecurity/trivy@v0.50.0, falling back to fallback.
func scannerName(uri, fallback string) string {
	u := uri
	if i := strings.IndexAny(u, "@?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndex(u, "/"); i >= 0 {
		u = u[i+1:]
	}
	u = strings.TrimPrefix(u, "pkg:")
	if u == "" {
		return fallback
	}
	return strings.ToLower(u)
}
