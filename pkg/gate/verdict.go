package gate

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// report turns the findings into a Report: Warn mode demotes violations,
// duplicates (a matrix task yields the same finding once per combination)
// are dropped, and every list is sorted so reports are reproducible.
func (r *run) report() *Report {
	rep := &Report{Violations: []Finding{}, Warnings: []Finding{}}
	seen := map[Finding]bool{}
	for _, f := range r.findings {
		if f.Severity == SeverityViolation && r.mode() == v1alpha1.ModeWarn {
			f.Severity = SeverityWarning
		}
		key := f
		key.Task = ""
		key.Transient = false
		if seen[key] {
			continue
		}
		seen[key] = true
		switch f.Severity {
		case SeverityError:
			rep.Errors = append(rep.Errors, f)
		case SeverityWarning:
			rep.Warnings = append(rep.Warnings, f)
		default:
			rep.Violations = append(rep.Violations, f)
		}
	}
	sortFindings(rep.Violations)
	sortFindings(rep.Warnings)
	sortFindings(rep.Errors)
	rep.Summary = r.summary
	rep.Summary.Images = len(r.images)
	rep.Summary.Bundles = len(r.bundleRefs)
	rep.Summary.Violations = len(rep.Violations)
	rep.Summary.Warnings = len(rep.Warnings)
	for d := range r.verifiedSet {
		rep.VerifiedImages = append(rep.VerifiedImages, d)
	}
	sort.Strings(rep.VerifiedImages)
	rep.VerifiedImages = r.verifiedArtifacts(rep.VerifiedImages)
	r.notes.fill(rep)
	rep.Verdict = verdictRule(len(rep.Violations), len(rep.Errors), len(rep.Warnings))
	return rep
}

// verdictRule is the one verdict rule:
//
//   - any violation: VerdictFail, even when something else could not be
//     decided. The run is rejected either way, and the violation is the
//     answer a person can act on; the undecided findings stay listed in
//     Errors. (In Warn mode the engine has already moved violations to
//     Warnings, so this is the Enforce rule.)
//   - otherwise anything undecided: VerdictError;
//   - otherwise warnings: VerdictWarn; nothing at all: VerdictPass.
func verdictRule(violations, errors, warnings int) Verdict {
	switch {
	case violations > 0:
		return VerdictFail
	case errors > 0:
		return VerdictError
	case warnings > 0:
		return VerdictWarn
	default:
		return VerdictPass
	}
}

// Decide returns the verdict of a report by the engine's one rule (see
// verdictRule). The engine records it in Report.Verdict; every consumer (the
// CLI's exit code and renderers, the controller's reason and results) maps
// Decide's answer and has no rule of its own.
//
// It fails closed on reports the engine did not make: a nil report, one
// whose recorded verdict is empty or unknown, and one recording VerdictFail
// or VerdictError that its lists do not bear out, are VerdictError. A
// violation always fails, whatever verdict a report records.
func Decide(r *Report) Verdict {
	if r == nil {
		return VerdictError
	}
	d := verdictRule(len(r.Violations), len(r.Errors), len(r.Warnings))
	switch {
	case d == VerdictFail || d == VerdictError:
		return d
	case r.Verdict == VerdictPass || r.Verdict == VerdictWarn:
		return d
	default:
		return VerdictError
	}
}

// sortFindings orders findings as SortNotes orders notes.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return comparePlace(a.Task, a.Subject, a.Check, a.Message, b.Task, b.Subject, b.Check, b.Message)
	})
}

// comparePlace orders what a report lists by task, subject, check and
// message.
func comparePlace(aTask string, aSubject Subject, aCheck, aMessage, bTask string, bSubject Subject, bCheck, bMessage string) int {
	return cmp.Or(strings.Compare(aTask, bTask), strings.Compare(aSubject.String(), bSubject.String()),
		strings.Compare(aCheck, bCheck), strings.Compare(aMessage, bMessage))
}
