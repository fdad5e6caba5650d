package output

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/security-gate/security-gate/pkg/gate"
)

// ANSI SGR sequences used when colour is on.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiPurple = "\x1b[35m"
)

// Markers in front of each finding line.
const (
	markViolation = "✗"
	markWarning   = "!"
	markError     = "?"
)

// runGroup heads the findings that belong to no task (namespace, the
// pipelineRef, --image artifacts, policy and input errors).
const runGroup = "run"

// Text writes the report for people: findings grouped by task (run-level
// findings first, then tasks in the order the report first mentions them),
// one line per finding, and a one-line verdict with counts at the end.
// color adds ANSI colour; the caller decides whether the writer is a
// terminal and whether NO_COLOR is set.
func Text(w io.Writer, r *gate.Report, color bool) error {
	n := normalize(r)
	bw := bufio.NewWriter(w)
	p := painter(color)

	groups, order := groupByTask(all(&n))
	for _, task := range order {
		if task == "" {
			fmt.Fprintln(bw, p(ansiBold, runGroup))
		} else {
			fmt.Fprintln(bw, p(ansiBold, "task "+clean(task)))
		}
		for _, f := range groups[task] {
			mark, colour := markViolation, ansiRed
			switch f.Severity {
			case gate.SeverityWarning:
				mark, colour = markWarning, ansiYellow
			case gate.SeverityError:
				mark, colour = markError, ansiPurple
			}
			line := fmt.Sprintf("[%s] ", clean(f.Check))
			if !f.Subject.IsZero() {
				line += clean(f.Subject.String()) + ": "
			}
			line += clean(f.Message)
			fmt.Fprintf(bw, "  %s %s\n", p(colour, mark), line)
		}
	}
	if len(order) > 0 {
		fmt.Fprintln(bw)
	}
	writeNotes(bw, &n, p)
	fmt.Fprintln(bw, verdictLine(&n, p))
	return bw.Flush()
}

// verdictLine is the one-line summary, e.g.
// "FAIL: 2 violations, 1 warning (1 pipeline, 4 tasks, 6 steps, 3 images, 0 bundles)".
func verdictLine(r *gate.Report, p func(string, string) string) string {
	var head, colour string
	switch r.Verdict {
	case gate.VerdictPass:
		head, colour = "PASS", ansiGreen
	case gate.VerdictWarn:
		head, colour = "PASS with warnings", ansiYellow
	case gate.VerdictFail:
		head, colour = "FAIL", ansiRed
	default:
		head, colour = "ERROR: could not decide", ansiPurple
	}
	counts := []string{plural(len(r.Violations), "violation"), plural(len(r.Warnings), "warning")}
	if len(r.Errors) > 0 {
		counts = append([]string{plural(len(r.Errors), "error")}, counts...)
	}
	s := r.Summary
	scope := fmt.Sprintf("%s, %s, %s, %s, %s",
		plural(s.Pipelines, "pipeline"), plural(s.Tasks, "task"), plural(s.Steps, "step"),
		plural(s.Images, "image"), plural(s.Bundles, "bundle"))
	return fmt.Sprintf("%s: %s (%s)", p(ansiBold+colour, head), strings.Join(counts, ", "), scope)
}

// groupByTask keeps the findings' order within a group and orders groups by
// first mention, with the run-level group first.
func groupByTask(fs []gate.Finding) (map[string][]gate.Finding, []string) {
	groups := map[string][]gate.Finding{}
	var order []string
	for _, f := range fs {
		if _, seen := groups[f.Task]; !seen {
			order = append(order, f.Task)
		}
		groups[f.Task] = append(groups[f.Task], f)
	}
	if _, ok := groups[""]; ok && order[0] != "" {
		rest := make([]string, 0, len(order))
		for _, t := range order {
			if t != "" {
				rest = append(rest, t)
			}
		}
		order = append([]string{""}, rest...)
	}
	return groups, order
}

// painter returns a function that wraps text in an SGR sequence, or leaves it
// alone when colour is off.
func painter(color bool) func(code, s string) string {
	if !color {
		return func(_, s string) string { return s }
	}
	return func(code, s string) string { return code + s + ansiReset }
}

// clean makes untrusted text (subjects and messages quote image references
// and names from the input manifests) safe for a terminal and one line long:
// line breaks become "; ", other control characters (an ESC could repaint the
// verdict) and bidirectional overrides (which reorder what is shown) become
// U+FFFD.
func clean(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	s = strings.TrimRight(s, "\r\n")
	s = strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			if r == '\t' {
				return ' '
			}
			return '\uFFFD'
		}
		return r
	}, s)
}

// unsafeRune reports control characters and the Unicode bidirectional
// embedding, override and isolate characters.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
