package vuln

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// MaxListed is how many denied ids a Result's Message names before it only
// counts the rest.
const MaxListed = 10

// Result is the judgement of one scan.
type Result struct {
	// Denied is true when the scan fails the policy: a finding of a denied
	// severity that no live exception covers, or no scan at all.
	Denied bool
	// Violations are the denied findings, one per id (its worst severity),
	// worst first, then by id.
	Violations []Finding
	// Message is ready for a report: the first MaxListed denied ids with
	// their severities, then how many more. Empty when not Denied.
	Message string
	// Warnings are things a person should act on that do not fail the
	// check: expired exceptions, unreadable exceptions, unknown severities
	// in the deny list.
	Warnings []string
	Counts   Counts
}

// Counts summarise what happened to the findings (not distinct ids).
type Counts struct {
	// Findings is every finding in the scan.
	Findings int
	// IgnoredUnfixed were dropped by ignoreUnfixed.
	IgnoredUnfixed int
	// Excepted were covered by a live exception.
	Excepted int
	// Denied had a denied severity and no live exception.
	Denied int
}

// exception is a VulnerabilityException that applies to the image and has
// not expired.
type exception struct {
	id      string
	expires time.Time
}

// Evaluate judges scan against policy for the image repository imageRepo
// (no tag, no digest) at time now. A nil policy denies nothing; a nil scan is
// denied, since there is nothing to judge. It is the one place findings are
// judged: several scans of one image are judged together by evaluating
// their Merge.
func Evaluate(scan *Scan, policy *v1alpha1.VulnerabilityPolicy, imageRepo string, now time.Time) Result {
	var res Result
	if scan == nil {
		res.Denied = true
		res.Message = "no vulnerability scan to judge"
		return res
	}
	res.Counts.Findings = len(scan.Findings)
	if policy == nil {
		return res
	}

	deny := map[Severity]bool{}
	for _, d := range policy.Deny {
		s, ok := NormalizeSeverity(d)
		if !ok {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"vulnerabilities.deny: %q is not a severity (expected CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE or UNKNOWN); it denies findings of UNKNOWN severity", d))
		}
		deny[s] = true
	}
	live := liveExceptions(policy.Exceptions, imageRepo, now, &res.Warnings)

	worst := map[string]Finding{} // denied findings by upper-case id
	for _, f := range scan.Findings {
		if policy.IgnoreUnfixed && !f.Fixed && !f.FixUnknown {
			res.Counts.IgnoredUnfixed++
			continue
		}
		if excepted(f, live) {
			res.Counts.Excepted++
			continue
		}
		if !deny[f.Severity] {
			continue
		}
		res.Counts.Denied++
		key := strings.ToUpper(f.ID)
		if w, ok := worst[key]; !ok || f.Severity.rank() > w.Severity.rank() {
			worst[key] = f
		}
	}
	if len(worst) == 0 {
		return res
	}
	res.Denied = true
	for _, f := range worst {
		res.Violations = append(res.Violations, f)
	}
	sort.Slice(res.Violations, func(i, j int) bool {
		a, b := res.Violations[i], res.Violations[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() > b.Severity.rank()
		}
		return a.ID < b.ID
	})
	res.Message = message(res.Violations, policy.Deny)
	return res
}

func message(v []Finding, deny []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s of a denied severity (vulnerabilities.deny: %s): ",
		len(v), plural(len(v), "vulnerability", "vulnerabilities"), strings.Join(deny, ", "))
	for i, f := range v {
		if i == MaxListed {
			fmt.Fprintf(&b, " and %d more", len(v)-MaxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if f.SeverityFrom != "" {
			fmt.Fprintf(&b, "%s (%s from %s)", f.ID, f.Severity, f.SeverityFrom)
		} else {
			fmt.Fprintf(&b, "%s (%s)", f.ID, f.Severity)
		}
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// liveExceptions keeps the exceptions that apply to imageRepo and have not
// expired at now, warning about expired and unreadable ones.
func liveExceptions(exs []v1alpha1.VulnerabilityException, imageRepo string, now time.Time, warnings *[]string) []exception {
	var live []exception
	for i, e := range exs {
		at := fmt.Sprintf("vulnerabilities.exceptions[%d] (%s)", i, e.ID)
		applies, err := matchesImage(e.Images, imageRepo)
		if err != nil {
			*warnings = append(*warnings, fmt.Sprintf("%s: images: %v; the exception does not apply", at, err))
			continue
		}
		if !applies {
			continue
		}
		// Shared with policy validation: a date lasts through that day in UTC.
		end, err := v1alpha1.ParseExpiry(e.Expires)
		if err != nil {
			*warnings = append(*warnings, fmt.Sprintf("%s: %v; the exception does not apply", at, err))
			continue
		}
		if !now.Before(end) {
			*warnings = append(*warnings, fmt.Sprintf("%s: expired %s (expires %q); it no longer applies, reason was: %s",
				at, end.UTC().Format(time.RFC3339), e.Expires, e.Reason))
			continue
		}
		if strings.TrimSpace(e.ID) == "" {
			*warnings = append(*warnings, fmt.Sprintf("%s: id is empty; the exception does not apply", at))
			continue
		}
		live = append(live, exception{id: strings.TrimSpace(e.ID), expires: end})
	}
	return live
}

func matchesImage(globs []string, repo string) (bool, error) {
	if len(globs) == 0 {
		return true, nil
	}
	for _, g := range globs {
		ok, err := path.Match(g, repo)
		if err != nil {
			return false, fmt.Errorf("glob %q: %v", g, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func excepted(f Finding, live []exception) bool {
	for _, e := range live {
		if strings.EqualFold(e.id, f.ID) {
			return true
		}
		for _, a := range f.Aliases {
			if strings.EqualFold(e.id, a) {
				return true
			}
		}
	}
	return false
}

// Merge returns one scan holding the findings of every given scan, so that
// several verified scans of one image are judged together: a finding denied
// in any of them is denied, each id reported once at its worst severity, and
// exception warnings given once. FinishedOn is the latest finish time;
// Format and Scanner are kept when all scans agree. Nil scans are skipped;
// Merge of no scan is nil (which Evaluate denies).
func Merge(scans ...*Scan) *Scan {
	var out *Scan
	for _, s := range scans {
		if s == nil {
			continue
		}
		if out == nil {
			c := *s
			c.Findings = append([]Finding(nil), s.Findings...)
			out = &c
			continue
		}
		out.Findings = append(out.Findings, s.Findings...)
		if s.FinishedOn.After(out.FinishedOn) {
			out.FinishedOn = s.FinishedOn
		}
		if out.Format != s.Format {
			out.Format = "merged"
		}
		if out.Scanner != s.Scanner {
			out.Scanner = Scanner{}
		}
		if out.PredicateType != s.PredicateType {
			out.PredicateType = ""
		}
	}
	return out
}
