package gate

import (
	"sort"

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
	rep.Verdict = verdictOf(rep)
	return rep
}

// verdictOf: a violation in Enforce mode fails even when something else
// could not be decided (the run is rejected either way, and the violation
// is the more useful answer); otherwise anything undecided is an error.
func verdictOf(rep *Report) Verdict {
	switch {
	case len(rep.Violations) > 0:
		return VerdictFail
	case len(rep.Errors) > 0:
		return VerdictError
	case len(rep.Warnings) > 0:
		return VerdictWarn
	default:
		return VerdictPass
	}
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		if a.Subject != b.Subject {
			return a.Subject < b.Subject
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Message < b.Message
	})
}
