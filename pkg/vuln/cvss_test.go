package vuln

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// Vectors with their base scores as the CVSS calculators give them.
const (
	v31Critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" // 9.8
	v31High     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N" // 7.5
	v30Medium   = "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N" // 5.9
	v31Low      = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N" // 1.8
	v31None     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N" // 0.0
	v40Critical = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
	// With threat metric E:U the v4.0 score is 8.1 (HIGH); the base score
	// is still 9.3 (CRITICAL).
	v40CriticalUnreported = v40Critical + "/E:U"
	v40Medium             = "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N" // 6.8
	v2Complete            = "AV:N/AC:L/Au:N/C:C/I:C/A:C"                                      // 10.0
	v2Partial             = "AV:N/AC:L/Au:N/C:P/I:P/A:P"                                      // 7.5
)

func trivyDoc(vuln string) string {
	return `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@v0.58.1","result":{"SchemaVersion":2,"ArtifactName":"a",` +
		`"Results":[{"Vulnerabilities":[` + vuln + `]}]}},"metadata":{"scanFinishedOn":"2026-11-20T10:00:00Z"}}`
}

func grypeMatchDoc(vuln, related string) string {
	return `{"matches":[{"vulnerability":` + vuln + `,"relatedVulnerabilities":[` + related + `]}]}`
}

func inTotoDoc(severity string) string {
	return `{"scanner":{"uri":"pkg:github/anchore/grype@v0.86.1","result":[{"id":"CVE-2026-0001","severity":` + severity + `}]}}`
}

// TestSeverityFromCVSS: a finding without a severity word is rated from its
// CVSS data (go-cvss computes vector base scores); a word, when there is
// one, is the scanner's judgement and stands; with neither it is UNKNOWN.
func TestSeverityFromCVSS(t *testing.T) {
	tests := []struct {
		name, predicateType, doc string
		want                     Severity
		from                     string // SeverityFrom; "" when the word decided
	}{
		// Trivy: CVSS per source, V2/V3/V40 vectors and scores.
		{"trivy v3 vector, no severity", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V3Vector":"` + v31Critical + `"}}}`), SeverityCritical, "CVSS 3.1 9.8"},
		{"trivy UNKNOWN word, v3 score only", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","Severity":"UNKNOWN","CVSS":{"ghsa":{"V3Score":7.5}}}`), SeverityHigh, "CVSS 7.5"},
		{"trivy worst source wins", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V3Vector":"` + v30Medium + `"},"redhat":{"V3Vector":"` + v31High + `"}}}`), SeverityHigh, "CVSS 3.1 7.5"},
		{"trivy v4.0 base score, threat metrics left out", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V40Vector":"` + v40CriticalUnreported + `"}}}`), SeverityCritical, "CVSS 4.0 9.3"},
		{"trivy v2 only, rated on the v3 scale", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V2Vector":"` + v2Complete + `","V2Score":10}}}`), SeverityCritical, "CVSS 2.0 10.0"},
		{"trivy v2 ignored beside v3", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V2Vector":"` + v2Complete + `","V3Vector":"` + v30Medium + `"}}}`), SeverityMedium, "CVSS 3.0 5.9"},
		{"trivy word stands over CVSS", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","Severity":"LOW","CVSS":{"nvd":{"V3Vector":"` + v31Critical + `"}}}`), SeverityLow, ""},
		{"trivy unreadable vector, no severity", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V3Vector":"CVSS:3.1/AV:N"}}}`), SeverityUnknown, ""},
		{"trivy neither", PredicateCosignVuln, trivyDoc(`{"VulnerabilityID":"CVE-1"}`), SeverityUnknown, ""},
		{"trivy zero score is none", PredicateCosignVuln,
			trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":{"nvd":{"V3Vector":"` + v31None + `"}}}`), SeverityNegligible, "CVSS 3.1 0.0"},

		// Grype: vulnerability.cvss, then the related records' cvss.
		{"grype Unknown word, cvss vector", PredicateGrype,
			grypeMatchDoc(`{"id":"CVE-1","severity":"Unknown","cvss":[{"version":"3.1","vector":"`+v31High+`","metrics":{"baseScore":7.5}}]}`, ``), SeverityHigh, "CVSS 3.1 7.5"},
		{"grype no word, related record's cvss", PredicateGrype,
			grypeMatchDoc(`{"id":"GHSA-1","cvss":[]}`, `{"id":"CVE-1","cvss":[{"version":"4.0","vector":"`+v40Critical+`"}]}`), SeverityCritical, "CVSS 4.0 9.3"},
		{"grype base score without vector", PredicateGrype,
			grypeMatchDoc(`{"id":"CVE-1","severity":"","cvss":[{"version":"3.0","metrics":{"baseScore":9.1}}]}`, ``), SeverityCritical, "CVSS 3.0 9.1"},
		{"grype v2 base score only", PredicateGrype,
			grypeMatchDoc(`{"id":"CVE-1","cvss":[{"version":"2.0","vector":"`+v2Partial+`","metrics":{"baseScore":7.5}}]}`, ``), SeverityHigh, "CVSS 2.0 7.5"},
		{"grype word stands", PredicateGrype,
			grypeMatchDoc(`{"id":"CVE-1","severity":"Medium","cvss":[{"version":"3.1","vector":"`+v31Critical+`"}]}`, ``), SeverityMedium, ""},
		{"grype neither", PredicateGrype, grypeMatchDoc(`{"id":"CVE-1","severity":"Unknown"}`, ``), SeverityUnknown, ""},

		// in-toto: the worst usable entry; vectors now count.
		{"in-toto v3.1 vector", PredicateInTotoVulnsV02, inTotoDoc(`[{"method":"CVSSv3","score":"` + v31Critical + `"}]`), SeverityCritical, "CVSS 3.1 9.8"},
		{"in-toto v4.0 vector", PredicateInTotoVulnsV02, inTotoDoc(`[{"method":"CVSSv4","score":"` + v40Medium + `"}]`), SeverityMedium, "CVSS 4.0 6.8"},
		{"in-toto low vector", PredicateInTotoVulnsV01, inTotoDoc(`{"method":"cvss_v31","score":"` + v31Low + `"}`), SeverityLow, "CVSS 3.1 1.8"},
		{"in-toto word beside a worse vector", PredicateInTotoVulnsV02,
			inTotoDoc(`[{"method":"nvd","score":"MEDIUM"},{"method":"CVSSv3","score":"` + v31High + `"}]`), SeverityHigh, "CVSS 3.1 7.5"},
		{"in-toto word beside a milder vector", PredicateInTotoVulnsV02,
			inTotoDoc(`[{"method":"nvd","score":"CRITICAL"},{"method":"CVSSv3","score":"` + v31High + `"}]`), SeverityCritical, ""},
		{"in-toto v2 number ignored beside a v3 vector", PredicateInTotoVulnsV02,
			inTotoDoc(`[{"method":"CVSS_V2","score":9.3},{"method":"CVSS_V3","score":"` + v30Medium + `"}]`), SeverityMedium, "CVSS 3.0 5.9"},
		{"in-toto bare numbers on the v3 scale", PredicateInTotoVulnsV02, inTotoDoc(`[{"method":"cvss_score","score":"8.9"}]`), SeverityHigh, "CVSS 8.9"},
		{"in-toto 9.0 is critical", PredicateInTotoVulnsV02, inTotoDoc(`[{"method":"cvss_score","score":9.0}]`), SeverityCritical, "CVSS 9.0"},
		{"in-toto out of range, NaN and EPSS are not severities", PredicateInTotoVulnsV02,
			inTotoDoc(`[{"method":"cvss_score","score":"11"},{"method":"cvss_score","score":"NaN"},{"method":"epss","score":"0.97"}]`), SeverityUnknown, ""},
		{"in-toto garbage vector", PredicateInTotoVulnsV02, inTotoDoc(`[{"method":"CVSSv3","score":"CVSS:3.1/AV:X"}]`), SeverityUnknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.predicateType, []byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(s.Findings) != 1 {
				t.Fatalf("%d findings, want 1", len(s.Findings))
			}
			f := s.Findings[0]
			if f.Severity != tt.want || f.SeverityFrom != tt.from {
				t.Errorf("severity %s from %q, want %s from %q", f.Severity, f.SeverityFrom, tt.want, tt.from)
			}
		})
	}
}

// TestCVSSUnreadable: CVSS data that is consulted (no severity word) and is
// not in the scanner's shape makes the report unparseable, never UNKNOWN.
func TestCVSSUnreadable(t *testing.T) {
	for _, tt := range []struct{ name, predicateType, doc, want string }{
		{"trivy CVSS a list", PredicateCosignVuln, trivyDoc(`{"VulnerabilityID":"CVE-1","CVSS":["x"]}`), "Vulnerabilities[0].CVSS"},
		{"grype cvss an object", PredicateGrype, grypeMatchDoc(`{"id":"CVE-1","cvss":{"vector":"x"}}`, ``), "matches[0].vulnerability.cvss"},
		{"grype related cvss a string", PredicateGrype, grypeMatchDoc(`{"id":"CVE-1"}`, `{"id":"CVE-2","cvss":"x"}`), "matches[0].relatedVulnerabilities[0].cvss"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.predicateType, []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestFixStateUnknown: only "no fix" states are unfixed for ignoreUnfixed;
// a scanner that does not know whether a fix exists keeps the finding.
func TestFixStateUnknown(t *testing.T) {
	grype := func(state string) string {
		return grypeMatchDoc(fmt.Sprintf(`{"id":"CVE-1","severity":"Critical","fix":{"versions":[],"state":%q}}`, state), ``)
	}
	trivy := func(status string) string {
		return trivyDoc(fmt.Sprintf(`{"VulnerabilityID":"CVE-1","Severity":"CRITICAL","Status":%q}`, status))
	}
	policy := &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, IgnoreUnfixed: true}
	for _, tt := range []struct {
		name, predicateType, doc string
		denied                   bool
	}{
		{"grype unknown", PredicateGrype, grype("unknown"), true},
		{"grype no state", PredicateGrype, grype(""), true},
		{"grype not-fixed", PredicateGrype, grype("not-fixed"), false},
		{"grype wont-fix", PredicateGrype, grype("wont-fix"), false},
		{"trivy unknown", PredicateCosignVuln, trivy("unknown"), true},
		{"trivy under_investigation", PredicateCosignVuln, trivy("under_investigation"), true},
		{"trivy affected", PredicateCosignVuln, trivy("affected"), false},
		{"trivy will_not_fix", PredicateCosignVuln, trivy("will_not_fix"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.predicateType, []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			r := Evaluate(s, policy, "registry.example/app", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
			if r.Denied != tt.denied {
				t.Fatalf("denied %v, want %v (findings %+v, counts %+v)", r.Denied, tt.denied, s.Findings, r.Counts)
			}
		})
	}
}
