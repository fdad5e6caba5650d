package vuln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// parseInToto reads the in-toto vulns predicate (v0.1 and v0.2).
func parseInToto(data []byte) (*Scan, error) {
	p, finished, err := decodeScannerPredicate(data, "uri and result")
	if err != nil {
		return nil, err
	}
	findings, err := parseInTotoResults(p.Scanner.Result, "scanner.result")
	if err != nil {
		return nil, err
	}
	return &Scan{
		Format: "in-toto",
		Scanner: Scanner{
			Name:    scannerName(p.Scanner.URI, ""),
			Version: p.Scanner.Version,
			URI:     p.Scanner.URI,
		},
		FinishedOn: finished,
		Findings:   findings,
	}, nil
}

// inTotoEntry accepts both places the spec puts an entry's fields: directly
// on the entry (the example, and v0.2's text) or under "vulnerability"
// (v0.1's text).
type inTotoEntry struct {
	inTotoVuln
	Vulnerability *inTotoVuln `json:"vulnerability"`
}

type inTotoVuln struct {
	ID          string          `json:"id"`
	Severity    json.RawMessage `json:"severity"`
	Annotations json.RawMessage `json:"annotations"`
}

type inTotoScore struct {
	Method string          `json:"method"`
	Score  json.RawMessage `json:"score"`
}

// parseInTotoResults reads a required list of in-toto result entries; an
// empty list means the scanner found nothing.
func parseInTotoResults(raw json.RawMessage, at string) ([]Finding, error) {
	r := bytes.TrimSpace(raw)
	if len(r) == 0 || r[0] != '[' {
		return nil, fmt.Errorf("%s: missing, expected a list of vulnerabilities", at)
	}
	var entries []inTotoEntry
	if err := json.Unmarshal(r, &entries); err != nil {
		return nil, fmt.Errorf("%s: %v", at, err)
	}
	out := make([]Finding, 0, len(entries))
	for i, e := range entries {
		v := e.inTotoVuln
		if n := e.Vulnerability; n != nil {
			if v.ID == "" {
				v.ID = n.ID
			}
			if len(v.Severity) == 0 {
				v.Severity = n.Severity
			}
			if len(v.Annotations) == 0 {
				v.Annotations = n.Annotations
			}
		}
		if strings.TrimSpace(v.ID) == "" {
			return nil, fmt.Errorf("%s[%d]: no id (looked at id and vulnerability.id)", at, i)
		}
		sev, from, err := inTotoSeverity(v.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s[%d].severity: %v", at, i, err)
		}
		f := Finding{ID: v.ID, Severity: sev, SeverityFrom: from, FixUnknown: true}
		if fixed := annotatedFix(v.Annotations); fixed != "" {
			f.Fixed, f.FixUnknown, f.FixedVersion = true, false, fixed
		}
		out = append(out, f)
	}
	return out, nil
}

// inTotoSeverity judges a severity list (or a single {method, score}
// object, as v0.1's text reads) by its worst usable entry: severity words,
// and CVSS numbers and vectors rated with go-cvss (a v2 one only when no
// other CVSS entry is usable). from names the CVSS score when it decided.
func inTotoSeverity(raw json.RawMessage) (sev Severity, from string, err error) {
	r := bytes.TrimSpace(raw)
	if len(r) == 0 || bytes.Equal(r, []byte("null")) {
		return SeverityUnknown, "", nil
	}
	var scores []inTotoScore
	if r[0] == '{' {
		var one inTotoScore
		if err := json.Unmarshal(r, &one); err != nil {
			return "", "", err
		}
		scores = []inTotoScore{one}
	} else if err := json.Unmarshal(r, &scores); err != nil {
		return "", "", err
	}
	best := SeverityUnknown
	var vote severityVote
	for _, s := range scores {
		if strings.Contains(strings.ToLower(s.Method), "epss") {
			continue // a probability of exploitation, not a severity
		}
		text, ok := scalarText(s.Score)
		if !ok {
			continue
		}
		if w, ok := wordOrScore(s.Method, text, &vote); ok && w.rank() > best.rank() {
			best = w
		}
	}
	if c, ok := vote.result(); ok && c.severity.rank() > best.rank() {
		return c.severity, c.String(), nil
	}
	return best, "", nil
}

// scalarText returns a JSON string's value or a JSON number's text.
func scalarText(raw json.RawMessage) (string, bool) {
	r := bytes.TrimSpace(raw)
	if len(r) == 0 {
		return "", false
	}
	if r[0] == '"' {
		var s string
		if json.Unmarshal(r, &s) != nil {
			return "", false
		}
		return s, true
	}
	var n json.Number
	if json.Unmarshal(r, &n) != nil {
		return "", false
	}
	return n.String(), true
}

// annotatedFix finds a fixed version among annotations, which the spec
// describes both as a list of key/value objects and as a map.
func annotatedFix(raw json.RawMessage) string {
	r := bytes.TrimSpace(raw)
	if len(r) == 0 {
		return ""
	}
	var maps []map[string]json.RawMessage
	if r[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(r, &m) != nil {
			return ""
		}
		maps = append(maps, m)
	} else if json.Unmarshal(r, &maps) != nil {
		return ""
	}
	for _, m := range maps {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic when several keys match
		for _, k := range keys {
			switch strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k)) {
			case "fixedversion", "fixedversions", "fixedin":
				if s, ok := scalarText(m[k]); ok && strings.TrimSpace(s) != "" {
					return s
				}
			}
		}
	}
	return ""
}
