package vuln

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// summary renders findings compactly: "ID SEVERITY fix" where fix is
// fixed=<versions>, unfixed or unknown.
func summary(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		fix := "unfixed"
		switch {
		case f.FixUnknown:
			fix = "unknown"
		case f.Fixed:
			fix = "fixed=" + f.FixedVersion
		}
		s := fmt.Sprintf("%s %s %s", f.ID, f.Severity, fix)
		if len(f.Aliases) > 0 {
			s += " aka " + strings.Join(f.Aliases, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, file, predicateType string
		format, scanner, version  string
		finished                  time.Time
		findings                  []string
	}{{
		name: "cosign wrapping trivy", file: "cosign-trivy.json", predicateType: PredicateCosignVuln,
		format: "trivy", scanner: "trivy", version: "0.58.1",
		finished: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		findings: []string{
			"CVE-2023-5363 HIGH fixed=3.1.4-r0",
			"CVE-2023-5363 HIGH fixed=3.1.4-r0",
			"CVE-2023-6129 MEDIUM fixed=3.1.4-r3",
			"CVE-2024-2511 LOW fixed=3.1.4-r6",
			"CVE-2024-45337 CRITICAL fixed=0.31.0",
			"CVE-2024-24790 CRITICAL unfixed",
			"GHSA-xr7r-f8xq-vfvv UNKNOWN unfixed",
		},
	}, {
		name: "cosign type without scheme, clean trivy, zero finish time falls back to CreatedAt",
		file: "cosign-trivy-clean.json", predicateType: "cosign.sigstore.dev/attestation/vuln/v1",
		format: "trivy", scanner: "trivy", version: "0.58.1",
		finished: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		findings: []string{},
	}, {
		name: "cosign wrapping grype", file: "cosign-grype.json", predicateType: PredicateCosignVuln,
		format: "grype", scanner: "grype", version: "0.86.1",
		finished: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC),
		findings: []string{
			"CVE-2023-45853 CRITICAL unfixed",
			"GHSA-m425-mq94-257g HIGH fixed=1.56.3, 1.57.1, 1.58.3 aka CVE-2023-44487",
			"CVE-2024-2961 MEDIUM fixed=2.36-9+deb12u7",
			"CVE-2011-3374 NEGLIGIBLE unfixed",
		},
	}, {
		name: "grype predicate", file: "grype.json", predicateType: PredicateGrype,
		format: "grype", scanner: "grype", version: "0.86.1",
		finished: time.Date(2026, 11, 20, 15, 1, 2, 345678000, time.UTC),
		findings: []string{
			"CVE-2023-45853 CRITICAL unfixed",
			"GHSA-m425-mq94-257g HIGH fixed=1.56.3, 1.57.1, 1.58.3 aka CVE-2023-44487",
			"CVE-2024-2961 MEDIUM fixed=2.36-9+deb12u7",
			"CVE-2011-3374 NEGLIGIBLE unfixed",
		},
	}, {
		name: "in-toto v0.1, ids in both places", file: "intoto-v01.json", predicateType: PredicateInTotoVulnsV01,
		format: "in-toto", scanner: "trivy", version: "0.19.2",
		finished: time.Date(2021, 8, 6, 17, 50, 50, 520000000, time.UTC),
		findings: []string{
			"GHSA-fxph-q3j8-mv87 CRITICAL fixed=2.8.2",
			"CVE-2021-3711 CRITICAL unknown",
			"CVE-2021-3712 MEDIUM unknown",
			"CVE-2021-23840 HIGH unknown",
		},
	}, {
		name: "in-toto v0.2, numeric scores", file: "intoto-v02.json", predicateType: PredicateInTotoVulnsV02,
		format: "in-toto", scanner: "grype", version: "0.86.1",
		finished: time.Date(2026, 11, 20, 9, 2, 30, 500000000, time.UTC),
		findings: []string{
			"CVE-2024-45337 CRITICAL fixed=0.31.0",
			"CVE-2023-45288 HIGH unknown",
			"CVE-2024-24783 MEDIUM unknown",
			"CVE-2023-39323 LOW unknown",
			"CVE-2022-0001 NEGLIGIBLE unknown",
			"CVE-2022-0002 UNKNOWN unknown",
		},
	}, {
		name: "in-toto unversioned type", file: "intoto-v02.json", predicateType: PredicateInTotoVulns,
		format: "in-toto", scanner: "grype", version: "0.86.1",
		finished: time.Date(2026, 11, 20, 9, 2, 30, 500000000, time.UTC),
		findings: []string{
			"CVE-2024-45337 CRITICAL fixed=0.31.0",
			"CVE-2023-45288 HIGH unknown",
			"CVE-2024-24783 MEDIUM unknown",
			"CVE-2023-39323 LOW unknown",
			"CVE-2022-0001 NEGLIGIBLE unknown",
			"CVE-2022-0002 UNKNOWN unknown",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.predicateType, readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.Format != tt.format || s.Scanner.Name != tt.scanner || s.Scanner.Version != tt.version {
				t.Errorf("format/scanner = %s %s %s, want %s %s %s", s.Format, s.Scanner.Name, s.Scanner.Version, tt.format, tt.scanner, tt.version)
			}
			if !s.FinishedOn.Equal(tt.finished) {
				t.Errorf("FinishedOn = %v, want %v", s.FinishedOn, tt.finished)
			}
			if s.PredicateType != tt.predicateType {
				t.Errorf("PredicateType = %q, want %q", s.PredicateType, tt.predicateType)
			}
			if got := summary(s.Findings); !reflect.DeepEqual(got, tt.findings) {
				t.Errorf("findings:\n got %q\nwant %q", got, tt.findings)
			}
		})
	}
}

func TestParseUnrecognized(t *testing.T) {
	trivyInCosign := func(result string) string {
		return `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@v0.58.1","result":` + result + `},"metadata":{"scanFinishedOn":"2026-11-20T10:00:00Z"}}`
	}
	tests := []struct {
		name, predicateType, doc, want string
	}{
		{"not a vuln type", "https://slsa.dev/provenance/v1", `{"buildDefinition":{}}`, "not a vulnerability scan"},
		{"empty", PredicateCosignVuln, ``, "not a JSON object"},
		{"null", PredicateCosignVuln, `null`, "not a JSON object"},
		{"array", PredicateGrype, `[]`, "not a JSON object"},
		{"empty object", PredicateCosignVuln, `{}`, "scanner: missing"},
		{"cosign with a raw trivy report", PredicateCosignVuln, string(mustRead("cosign-trivy.json", "result")), "scanner: missing"},
		{"cosign result null (raw report given to cosign attest)", PredicateCosignVuln, trivyInCosign(`null`), "scanner.result: missing"},
		{"cosign result empty object", PredicateCosignVuln, trivyInCosign(`{}`), "neither a Trivy report"},
		{"cosign result a string", PredicateCosignVuln, trivyInCosign(`"CVE-1"`), "scanner.result: missing"},
		{"cosign result spdx", PredicateCosignVuln, trivyInCosign(`{"spdxVersion":"SPDX-2.3","packages":[]}`), "neither a Trivy report"},
		{"bare schema version", PredicateCosignVuln, trivyInCosign(`{"SchemaVersion":2}`), "neither a Trivy report"},
		{"trivy and grype keys", PredicateCosignVuln, trivyInCosign(`{"Results":[],"matches":[]}`), "both Trivy"},
		{"trivy results not a list", PredicateCosignVuln, trivyInCosign(`{"SchemaVersion":2,"Results":{}}`), "Trivy report"},
		{"trivy vulnerability without id", PredicateCosignVuln, trivyInCosign(`{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"Severity":"HIGH"}]}]}`), "Results[0].Vulnerabilities[0].VulnerabilityID: empty"},
		{"trivy severity a number", PredicateCosignVuln, trivyInCosign(`{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","Severity":9}]}]}`), "Trivy report"},
		{"bad finish time", PredicateCosignVuln, `{"scanner":{"result":{"matches":[]}},"metadata":{"scanFinishedOn":"yesterday"}}`, "metadata.scanFinishedOn"},
		{"grype without matches", PredicateGrype, `{"descriptor":{"name":"grype"}}`, "matches: missing"},
		{"grype matches not a list", PredicateGrype, `{"matches":{"id":"CVE-1"}}`, "Grype document"},
		{"grype match without id", PredicateGrype, `{"matches":[{"vulnerability":{"severity":"High"}}]}`, "matches[0].vulnerability.id: empty"},
		{"grype bad timestamp", PredicateGrype, `{"matches":[],"descriptor":{"timestamp":"20 Nov"}}`, "descriptor.timestamp"},
		{"in-toto without scanner", PredicateInTotoVulnsV02, `{"metadata":{}}`, "scanner: missing"},
		{"in-toto without result", PredicateInTotoVulnsV02, `{"scanner":{"uri":"x"}}`, "scanner.result: missing"},
		{"in-toto result an object", PredicateInTotoVulnsV01, `{"scanner":{"uri":"x","result":{"id":"CVE-1"}}}`, "scanner.result: missing"},
		{"in-toto entry without id", PredicateInTotoVulnsV02, `{"scanner":{"result":[{"severity":[]}]}}`, "scanner.result[0]: no id"},
		{"in-toto severity a string", PredicateInTotoVulnsV02, `{"scanner":{"result":[{"id":"CVE-1","severity":"HIGH"}]}}`, "scanner.result[0].severity"},
		{"truncated", PredicateInTotoVulnsV02, `{"scanner":{"result":[{"id":"CVE-1"`, "predicate:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.predicateType, []byte(tt.doc))
			var ue *UnrecognizedError
			if !errors.Is(err, ErrUnrecognized) || !errors.As(err, &ue) || ue.PredicateType != tt.predicateType {
				t.Fatalf("Parse = %+v, %v; want an *UnrecognizedError for %s", s, err, tt.predicateType)
			}
			if s != nil {
				t.Errorf("Parse returned a scan with its error: %+v", s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// mustRead returns a top-level-free fragment of a testdata document: the
// value at scanner.<field>, to build documents in the wrong place.
func mustRead(file, field string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		panic(err)
	}
	i := strings.Index(string(b), `"`+field+`": `)
	if i < 0 {
		panic("no " + field + " in " + file)
	}
	frag := string(b[i+len(field)+4:])
	// The report object runs to the line closing scanner.
	j := strings.LastIndex(frag, "\n  },\n  \"metadata\"")
	return []byte(strings.TrimSpace(frag[:j]))
}

func TestIsVulnPredicateType(t *testing.T) {
	for _, pt := range PredicateTypes {
		if !IsVulnPredicateType(pt) {
			t.Errorf("IsVulnPredicateType(%q) = false", pt)
		}
	}
	for _, pt := range []string{"", "vuln", "https://slsa.dev/provenance/v1", "https://in-toto.io/attestation/vulns/v0.3", "https://cosign.sigstore.dev/attestation/v1"} {
		if IsVulnPredicateType(pt) {
			t.Errorf("IsVulnPredicateType(%q) = true", pt)
		}
	}
}
