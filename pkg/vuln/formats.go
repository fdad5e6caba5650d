package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// scannerPredicate is the envelope cosign's vuln predicate and the in-toto
// vulns predicate share: the scanner's result (cosign: the scanner's own
// report, unchanged; in-toto: a list of entries) and when the scan finished.
type scannerPredicate struct {
	Scanner *struct {
		URI     string          `json:"uri"`
		Version string          `json:"version"`
		Result  json.RawMessage `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanFinishedOn string `json:"scanFinishedOn"`
	} `json:"metadata"`
}

// decodeScannerPredicate reads the shared envelope; expected names what
// scanner must hold, for the message when it is missing.
func decodeScannerPredicate(data []byte, expected string) (*scannerPredicate, time.Time, error) {
	var p scannerPredicate
	if err := decodeObject(data, &p); err != nil {
		return nil, time.Time{}, err
	}
	if p.Scanner == nil {
		return nil, time.Time{}, errors.New("scanner: missing, expected an object with " + expected)
	}
	finished, err := parseTime("metadata.scanFinishedOn", p.Metadata.ScanFinishedOn)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &p, finished, nil
}

func parseCosign(data []byte) (*Scan, error) {
	p, finished, err := decodeScannerPredicate(data, "uri, version and result")
	if err != nil {
		return nil, err
	}
	result := bytes.TrimSpace(p.Scanner.Result)
	var s *Scan
	switch {
	case len(result) > 0 && result[0] == '[':
		// Some producers put an in-toto style result list here.
		var f []Finding
		if f, err = parseInTotoResults(result, "scanner.result"); err == nil {
			s = &Scan{Format: "in-toto", Findings: f}
		}
	case len(result) > 0 && result[0] == '{':
		s, err = parseReport(result, p.Scanner.URI)
	default:
		err = errors.New("scanner.result: missing, expected a Trivy or Grype JSON report")
	}
	if err != nil {
		return nil, err
	}
	s.Scanner.URI = p.Scanner.URI
	if s.Scanner.Version == "" {
		s.Scanner.Version = p.Scanner.Version
	}
	if s.Scanner.Name == "" {
		s.Scanner.Name = scannerName(p.Scanner.URI, s.Format)
	}
	// The wrapper's finish time wins; the report's own time is a fallback.
	if !finished.IsZero() {
		s.FinishedOn = finished
	}
	return s, nil
}

// parseReport tells a Trivy report from a Grype document by their top-level
// keys and parses it.
func parseReport(data []byte, uri string) (*Scan, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("scanner.result: %v", err)
	}
	_, results := keys["Results"]
	_, schema := keys["SchemaVersion"]
	_, artifact := keys["ArtifactName"]
	_, matches := keys["matches"]
	// A clean Trivy report may have no Results; it still names its artifact.
	trivy := results || (schema && artifact)
	switch {
	case trivy && matches:
		return nil, errors.New("scanner.result: has both Trivy (Results) and Grype (matches) keys")
	case trivy:
		return parseTrivy(data, "scanner.result.")
	case matches:
		return parseGrypeDoc(data, "scanner.result.")
	}
	return nil, fmt.Errorf("scanner.result: neither a Trivy report (Results) nor a Grype document (matches); scanner.uri %q", uri)
}

type trivyReport struct {
	SchemaVersion int    `json:"SchemaVersion"`
	ArtifactName  string `json:"ArtifactName"`
	CreatedAt     string `json:"CreatedAt"`
	Results       []struct {
		Target          string `json:"Target"`
		Vulnerabilities []struct {
			VulnerabilityID string `json:"VulnerabilityID"`
			PkgName         string `json:"PkgName"`
			FixedVersion    string `json:"FixedVersion"`
			Status          string `json:"Status"`
			Severity        string `json:"Severity"`
			// PkgIdentifier.PURL names the package for VEX subcomponents.
			PkgIdentifier struct {
				PURL string `json:"PURL"`
			} `json:"PkgIdentifier"`
			// CVSS is read only when Severity names none.
			CVSS json.RawMessage `json:"CVSS"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

func parseTrivy(data []byte, at string) (*Scan, error) {
	var r trivyReport
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%sTrivy report: %v", at, err)
	}
	s := &Scan{Format: "trivy", Scanner: Scanner{Name: "trivy"}}
	t, err := parseTime(at+"CreatedAt", r.CreatedAt)
	if err != nil {
		return nil, err
	}
	s.FinishedOn = t
	for i, res := range r.Results {
		for j, v := range res.Vulnerabilities {
			if strings.TrimSpace(v.VulnerabilityID) == "" {
				return nil, fmt.Errorf("%sResults[%d].Vulnerabilities[%d].VulnerabilityID: empty", at, i, j)
			}
			var vote severityVote
			if !namesSeverity(v.Severity) {
				if err := trivyCVSS(v.CVSS, &vote); err != nil {
					return nil, fmt.Errorf("%sResults[%d].Vulnerabilities[%d].CVSS: %v", at, i, j, err)
				}
			}
			sev, from := wordOrCVSS(v.Severity, &vote)
			// Trivy's own --ignore-unfixed keys on FixedVersion; newer
			// versions also say Status "fixed".
			fixed := v.FixedVersion != "" || strings.EqualFold(v.Status, "fixed")
			status := strings.ToLower(strings.TrimSpace(v.Status))
			s.Findings = append(s.Findings, Finding{
				ID:           v.VulnerabilityID,
				Severity:     sev,
				SeverityFrom: from,
				Package:      v.PkgName,
				PURL:         v.PkgIdentifier.PURL,
				FixedVersion: v.FixedVersion,
				Fixed:        fixed,
				FixUnknown:   !fixed && (status == "unknown" || status == "under_investigation"),
			})
		}
	}
	return s, nil
}

type grypeDoc struct {
	Matches []struct {
		Vulnerability struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Fix      struct {
				Versions []string `json:"versions"`
				State    string   `json:"state"`
			} `json:"fix"`
			// CVSS is read only when Severity names none.
			CVSS json.RawMessage `json:"cvss"`
		} `json:"vulnerability"`
		RelatedVulnerabilities []struct {
			ID   string          `json:"id"`
			CVSS json.RawMessage `json:"cvss"`
		} `json:"relatedVulnerabilities"`
		Artifact struct {
			Name string `json:"name"`
			PURL string `json:"purl"`
		} `json:"artifact"`
	} `json:"matches"`
	Descriptor struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Timestamp string `json:"timestamp"`
	} `json:"descriptor"`
}

func parseGrypeDoc(data []byte, at string) (*Scan, error) {
	var keys map[string]json.RawMessage
	if err := decodeObject(data, &keys); err != nil {
		return nil, err
	}
	if _, ok := keys["matches"]; !ok {
		return nil, fmt.Errorf("%smatches: missing, expected a Grype JSON document", at)
	}
	var d grypeDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%sGrype document: %v", at, err)
	}
	// Grype writes descriptor.timestamp when the document is produced,
	// right after matching: the closest thing to a finish time it has.
	t, err := parseTime(at+"descriptor.timestamp", d.Descriptor.Timestamp)
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(d.Descriptor.Name)
	if name == "" {
		name = "grype"
	}
	s := &Scan{Format: "grype", Scanner: Scanner{Name: name, Version: d.Descriptor.Version}, FinishedOn: t}
	for i, m := range d.Matches {
		v := m.Vulnerability
		if strings.TrimSpace(v.ID) == "" {
			return nil, fmt.Errorf("%smatches[%d].vulnerability.id: empty", at, i)
		}
		var vote severityVote
		if !namesSeverity(v.Severity) {
			// Grype rates a match from its own record, then the related
			// (usually NVD) records: every CVSS entry of either counts.
			if err := grypeCVSS(v.CVSS, &vote); err != nil {
				return nil, fmt.Errorf("%smatches[%d].vulnerability.cvss: %v", at, i, err)
			}
			for j, r := range m.RelatedVulnerabilities {
				if err := grypeCVSS(r.CVSS, &vote); err != nil {
					return nil, fmt.Errorf("%smatches[%d].relatedVulnerabilities[%d].cvss: %v", at, i, j, err)
				}
			}
		}
		sev, from := wordOrCVSS(v.Severity, &vote)
		state := strings.ToLower(strings.TrimSpace(v.Fix.State))
		fixed := state == "fixed" || len(v.Fix.Versions) > 0
		f := Finding{
			ID:           v.ID,
			Severity:     sev,
			SeverityFrom: from,
			Package:      m.Artifact.Name,
			PURL:         m.Artifact.PURL,
			FixedVersion: strings.Join(v.Fix.Versions, ", "),
			Fixed:        fixed,
			// Only "not-fixed" and "wont-fix" say there is no fix; "unknown"
			// (or no state) does not know, and ignoreUnfixed keeps it.
			FixUnknown: !fixed && state != "not-fixed" && state != "wont-fix",
		}
		for _, r := range m.RelatedVulnerabilities {
			if r.ID != "" && !strings.EqualFold(r.ID, v.ID) {
				f.Aliases = append(f.Aliases, r.ID)
			}
		}
		s.Findings = append(s.Findings, f)
	}
	return s, nil
}

// namesSeverity reports whether a scanner's severity word is a severity
// (not empty, not "unknown", not an unrecognised word).
func namesSeverity(word string) bool {
	s, ok := NormalizeSeverity(word)
	return ok && s != SeverityUnknown
}

// trivyCVSS adds the CVSS data of a Trivy finding: per source (nvd, ghsa,
// redhat, ...) v2, v3 and v4.0 vectors and scores.
func trivyCVSS(raw json.RawMessage, vote *severityVote) error {
	if isAbsent(raw) {
		return nil
	}
	var sources map[string]struct {
		V2Vector  string   `json:"V2Vector"`
		V3Vector  string   `json:"V3Vector"`
		V40Vector string   `json:"V40Vector"`
		V2Score   *float64 `json:"V2Score"`
		V3Score   *float64 `json:"V3Score"`
		V40Score  *float64 `json:"V40Score"`
	}
	if err := json.Unmarshal(raw, &sources); err != nil {
		return err
	}
	for _, c := range sources {
		vote.vector(c.V2Vector)
		vote.vector(c.V3Vector)
		vote.vector(c.V40Vector)
		vote.score(c.V2Score, "2.0")
		vote.score(c.V3Score, "")
		vote.score(c.V40Score, "4.0")
	}
	return nil
}

// grypeCVSS adds the CVSS entries of a Grype record: version, vector and
// metrics.baseScore.
func grypeCVSS(raw json.RawMessage, vote *severityVote) error {
	if isAbsent(raw) {
		return nil
	}
	var list []struct {
		Version string `json:"version"`
		Vector  string `json:"vector"`
		Metrics struct {
			BaseScore *float64 `json:"baseScore"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	for _, c := range list {
		vote.vector(c.Vector)
		vote.score(c.Metrics.BaseScore, c.Version)
	}
	return nil
}

func isAbsent(raw json.RawMessage) bool {
	r := bytes.TrimSpace(raw)
	return len(r) == 0 || bytes.Equal(r, []byte("null"))
}

// decodeObject unmarshals data, which must be a JSON object: encoding/json
// accepts null for a struct and would turn it into an empty report.
func decodeObject(data []byte, v any) error {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return errors.New("predicate: not a JSON object")
	}
	if err := json.Unmarshal(d, v); err != nil {
		return fmt.Errorf("predicate: %v", err)
	}
	return nil
}
