package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/security-gate/security-gate/pkg/gate"
)

// Format is an output format of `security-gate verify -o`.
type Format string

const (
	FormatText  Format = "text"
	FormatJSON  Format = "json"
	FormatJUnit Format = "junit"
	FormatSARIF Format = "sarif"
)

// Formats lists the formats in the order help text shows them.
func Formats() []Format { return []Format{FormatText, FormatJSON, FormatJUnit, FormatSARIF} }

// ParseFormat accepts a format name, case-insensitively.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown output format %q: expected one of %s", s, strings.Join(names, ", "))
}

// Options tune the renderers that have anything to tune.
type Options struct {
	// Color enables ANSI colour in text output. The caller decides (a
	// terminal, NO_COLOR unset); renderers never look at the environment.
	Color bool
	// ToolVersion is the version SARIF reports for the tool.
	ToolVersion string
	// Locate maps a finding's subject to the input file that holds its
	// object, when known; SARIF then adds a physical location (code-scanning
	// dashboards need one to show a result). Nil: logical locations only.
	Locate func(subject gate.Subject) (file string, ok bool)
}

// Write renders r in format f.
func Write(w io.Writer, f Format, r *gate.Report, opts Options) error {
	switch f {
	case FormatText:
		return Text(w, r, opts.Color)
	case FormatJSON:
		return JSON(w, r)
	case FormatJUnit:
		return JUnit(w, r)
	case FormatSARIF:
		return SARIFWith(w, r, opts)
	default:
		_, err := ParseFormat(string(f))
		return err
	}
}

// Verdict is the verdict every renderer shows for r: gate.Decide's, the
// engine's one verdict rule (VerdictError for a nil report or one that
// contradicts itself). The CLI derives its exit code from it, so the exit
// code and the printed verdict always agree.
func Verdict(r *gate.Report) gate.Verdict { return gate.Decide(r) }

// normalize returns a copy of r that renderers can rely on: never nil, lists
// never nil, counts that match the lists, and the verdict gate.Decide gives.
func normalize(r *gate.Report) gate.Report {
	if r == nil {
		return gate.Report{
			Verdict:    gate.VerdictError,
			Violations: []gate.Finding{},
			Warnings:   []gate.Finding{},
			Errors: []gate.Finding{{
				Check:    gate.CheckInput,
				Message:  "no report was produced: the verification did not run to a verdict",
				Severity: gate.SeverityError,
			}},
		}
	}
	out := *r
	out.Violations = withSeverity(r.Violations, gate.SeverityViolation)
	out.Warnings = withSeverity(r.Warnings, gate.SeverityWarning)
	if len(r.Errors) > 0 {
		out.Errors = withSeverity(r.Errors, gate.SeverityError)
	} else {
		out.Errors = nil
	}
	// The lists are the facts; the counts follow them.
	out.Summary.Violations = len(out.Violations)
	out.Summary.Warnings = len(out.Warnings)
	out.Verdict = gate.Decide(r)
	return out
}

// withSeverity copies fs (never nil) and sets the severity carried by the
// list, which is what the wire format encodes.
func withSeverity(fs []gate.Finding, s gate.Severity) []gate.Finding {
	out := make([]gate.Finding, len(fs))
	for i, f := range fs {
		f.Severity = s
		out[i] = f
	}
	return out
}

// all returns errors, violations and warnings, in that order: most severe
// first, so every renderer lists what blocks the gate before what does not.
func all(r *gate.Report) []gate.Finding {
	out := make([]gate.Finding, 0, len(r.Errors)+len(r.Violations)+len(r.Warnings))
	out = append(out, r.Errors...)
	out = append(out, r.Violations...)
	return append(out, r.Warnings...)
}

// plural returns "1 violation" or "3 violations".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
