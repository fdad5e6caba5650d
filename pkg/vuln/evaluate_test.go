package vuln

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

func mustParse(t *testing.T, predicateType, file string) *Scan {
	t.Helper()
	s, err := Parse(predicateType, readTestdata(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s", f.ID, f.Severity))
	}
	return out
}

func TestEvaluate(t *testing.T) {
	const repo = "registry.example/team/app"
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	trivy := mustParse(t, PredicateCosignVuln, "cosign-trivy.json")
	grype := mustParse(t, PredicateGrype, "grype.json")
	intoto := mustParse(t, PredicateInTotoVulnsV01, "intoto-v01.json")
	exc := func(id, expires string, images ...string) v1alpha1.VulnerabilityException {
		return v1alpha1.VulnerabilityException{ID: id, Expires: expires, Reason: "vendor fix pending", Images: images}
	}

	tests := []struct {
		name       string
		scan       *Scan
		policy     *v1alpha1.VulnerabilityPolicy
		repo       string
		now        time.Time
		denied     bool
		violations []string
		counts     Counts
		message    string
		warnings   []string // substrings, one per warning, in order
	}{{
		name:   "deny critical and high, case-insensitive",
		scan:   trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"critical", "High"}},
		denied: true, violations: []string{"CVE-2024-24790 CRITICAL", "CVE-2024-45337 CRITICAL", "CVE-2023-5363 HIGH"},
		counts:  Counts{Findings: 7, Denied: 4},
		message: "3 vulnerabilities of a denied severity (vulnerabilities.deny: critical, High): CVE-2024-24790 (CRITICAL), CVE-2024-45337 (CRITICAL), CVE-2023-5363 (HIGH)",
	}, {
		name:   "nothing of a denied severity passes",
		scan:   trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"NEGLIGIBLE"}},
		counts: Counts{Findings: 7},
	}, {
		name:   "nil policy denies nothing",
		scan:   trivy,
		counts: Counts{Findings: 7},
	}, {
		name:   "nil scan is denied",
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}},
		denied: true, message: "no vulnerability scan to judge",
	}, {
		name:   "ignoreUnfixed drops findings without a fix",
		scan:   trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH", "UNKNOWN"}, IgnoreUnfixed: true},
		denied: true, violations: []string{"CVE-2024-45337 CRITICAL", "CVE-2023-5363 HIGH"},
		counts: Counts{Findings: 7, IgnoredUnfixed: 2, Denied: 3},
	}, {
		name:   "deny UNKNOWN catches unknown severities",
		scan:   trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"unknown"}},
		denied: true, violations: []string{"GHSA-xr7r-f8xq-vfvv UNKNOWN"},
		counts: Counts{Findings: 7, Denied: 1},
	}, {
		name:   "ignoreUnfixed keeps in-toto findings whose fix is unknown",
		scan:   intoto,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, IgnoreUnfixed: true},
		denied: true, violations: []string{"CVE-2021-3711 CRITICAL", "GHSA-fxph-q3j8-mv87 CRITICAL"},
		counts: Counts{Findings: 4, Denied: 2},
	}, {
		name: "live exceptions, date and RFC 3339",
		scan: trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}, Exceptions: []v1alpha1.VulnerabilityException{
			exc("cve-2024-24790", "2026-12-31"), exc("CVE-2024-45337", "2026-11-20T12:00:01Z"), exc("CVE-2023-5363", "2027-01-01", "registry.example/team/*"),
		}},
		counts: Counts{Findings: 7, Excepted: 4},
	}, {
		name: "a date lasts to the end of that day in UTC",
		scan: trivy, now: time.Date(2026, 11, 20, 23, 59, 59, 0, time.UTC),
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, Exceptions: []v1alpha1.VulnerabilityException{
			exc("CVE-2024-24790", "2026-11-20"), exc("CVE-2024-45337", "2026-11-20"),
		}},
		counts: Counts{Findings: 7, Excepted: 2},
	}, {
		name: "expired exceptions no longer apply and warn",
		scan: trivy, now: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, Exceptions: []v1alpha1.VulnerabilityException{
			exc("CVE-2024-24790", "2026-11-20"), exc("CVE-2024-45337", "2026-11-20T23:59:59Z"), exc("CVE-2099-1", "2026-01-01"),
		}},
		denied: true, violations: []string{"CVE-2024-24790 CRITICAL", "CVE-2024-45337 CRITICAL"},
		counts: Counts{Findings: 7, Denied: 2},
		warnings: []string{
			`exceptions[0] (CVE-2024-24790): expired 2026-11-21T00:00:00Z (expires "2026-11-20")`,
			`exceptions[1] (CVE-2024-45337): expired 2026-11-20T23:59:59Z`,
			`exceptions[2] (CVE-2099-1): expired 2026-01-02T00:00:00Z`,
		},
	}, {
		name: "exception for other images does not apply, nor warns when expired",
		scan: trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, Exceptions: []v1alpha1.VulnerabilityException{
			exc("CVE-2024-24790", "2027-01-01", "registry.example/other/*", "registry.example/team"), exc("CVE-2024-45337", "2020-01-01", "registry.example/other/*"),
		}},
		denied: true, violations: []string{"CVE-2024-24790 CRITICAL", "CVE-2024-45337 CRITICAL"},
		counts: Counts{Findings: 7, Denied: 2},
	}, {
		name: "unreadable exceptions never apply and warn",
		scan: trivy,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL"}, Exceptions: []v1alpha1.VulnerabilityException{
			exc("CVE-2024-24790", "next week"), exc("CVE-2024-45337", "2027-01-01", "registry.example/[team"), exc("", "2027-01-01"),
		}},
		denied: true, violations: []string{"CVE-2024-24790 CRITICAL", "CVE-2024-45337 CRITICAL"},
		counts:   Counts{Findings: 7, Denied: 2},
		warnings: []string{`exceptions[0] (CVE-2024-24790): expires "next week"`, `exceptions[1] (CVE-2024-45337): images: glob "registry.example/[team"`, `exceptions[2] (): id is empty`},
	}, {
		name: "an exception matches a grype related id",
		scan: grype,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}, Exceptions: []v1alpha1.VulnerabilityException{
			exc("CVE-2023-44487", "2027-01-01"),
		}},
		denied: true, violations: []string{"CVE-2023-45853 CRITICAL"},
		counts: Counts{Findings: 4, Excepted: 1, Denied: 1},
	}, {
		name:   "a deny entry that is not a severity warns",
		scan:   grype,
		policy: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "SEVERE"}},
		denied: true, violations: []string{"CVE-2023-45853 CRITICAL"},
		counts:   Counts{Findings: 4, Denied: 1},
		warnings: []string{`vulnerabilities.deny: "SEVERE" is not a severity`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.repo == "" {
				tt.repo = repo
			}
			if tt.now.IsZero() {
				tt.now = now
			}
			r := Evaluate(tt.scan, tt.policy, tt.repo, tt.now)
			if r.Denied != tt.denied {
				t.Errorf("Denied = %v, want %v (message %q)", r.Denied, tt.denied, r.Message)
			}
			if tt.violations == nil {
				tt.violations = []string{}
			}
			if got := ids(r.Violations); !reflect.DeepEqual(got, tt.violations) {
				t.Errorf("violations = %q, want %q", got, tt.violations)
			}
			if r.Counts != tt.counts {
				t.Errorf("counts = %+v, want %+v", r.Counts, tt.counts)
			}
			if tt.message != "" && r.Message != tt.message {
				t.Errorf("message:\n got %q\nwant %q", r.Message, tt.message)
			}
			if !tt.denied && r.Message != "" {
				t.Errorf("message %q on a passing scan", r.Message)
			}
			if len(r.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d like %q", r.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(r.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, r.Warnings[i], w)
				}
			}
		})
	}
}

func TestEvaluateMessageListsTenThenCounts(t *testing.T) {
	s := &Scan{}
	for i := 13; i >= 1; i-- {
		sev := SeverityHigh
		if i%2 == 0 {
			sev = SeverityCritical
		}
		s.Findings = append(s.Findings, Finding{ID: fmt.Sprintf("CVE-2026-%04d", i), Severity: sev, Fixed: true})
	}
	// A duplicate id with a lower severity does not hide the worse one.
	s.Findings = append(s.Findings, Finding{ID: "cve-2026-0002", Severity: SeverityLow})
	r := Evaluate(s, &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH", "LOW"}}, "r/a", time.Now())
	want := "13 vulnerabilities of a denied severity (vulnerabilities.deny: CRITICAL, HIGH, LOW): " +
		"CVE-2026-0002 (CRITICAL), CVE-2026-0004 (CRITICAL), CVE-2026-0006 (CRITICAL), CVE-2026-0008 (CRITICAL), " +
		"CVE-2026-0010 (CRITICAL), CVE-2026-0012 (CRITICAL), CVE-2026-0001 (HIGH), CVE-2026-0003 (HIGH), " +
		"CVE-2026-0005 (HIGH), CVE-2026-0007 (HIGH) and 3 more"
	if r.Message != want {
		t.Errorf("message:\n got %q\nwant %q", r.Message, want)
	}
	if len(r.Violations) != 13 || r.Counts.Denied != 14 {
		t.Errorf("violations %d, denied %d; want 13 distinct ids of 14 findings", len(r.Violations), r.Counts.Denied)
	}
}

// TestMerge: several scans of one image are judged together; a finding
// denied in any of them is denied, once, at its worst severity.
func TestMerge(t *testing.T) {
	older := &Scan{Format: "trivy", FinishedOn: time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), Findings: []Finding{
		{ID: "CVE-2026-0001", Severity: SeverityHigh, Fixed: true},
		{ID: "CVE-2026-0002", Severity: SeverityLow, Fixed: true},
	}}
	newer := &Scan{Format: "grype", FinishedOn: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Findings: []Finding{
		{ID: "cve-2026-0001", Severity: SeverityCritical, SeverityFrom: "CVSS 3.1 9.8", Fixed: true},
	}}
	m := Merge(nil, older, newer)
	if m.Format != "merged" || !m.FinishedOn.Equal(newer.FinishedOn) || len(m.Findings) != 3 || len(older.Findings) != 2 {
		t.Fatalf("merged %+v (older now %d findings)", m, len(older.Findings))
	}
	r := Evaluate(m, &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}}, "r/a", newer.FinishedOn)
	want := "1 vulnerability of a denied severity (vulnerabilities.deny: CRITICAL, HIGH): cve-2026-0001 (CRITICAL from CVSS 3.1 9.8)"
	if !r.Denied || r.Message != want {
		t.Fatalf("denied %v, message %q; want %q", r.Denied, r.Message, want)
	}
	if Merge() != nil || Merge(nil) != nil {
		t.Fatal("Merge of no scan is not nil")
	}
	if !Evaluate(Merge(), nil, "r/a", newer.FinishedOn).Denied {
		t.Fatal("no scan at all is not denied")
	}
}
