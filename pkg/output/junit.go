package output

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/security-gate/security-gate/pkg/gate"
)

// The JUnit XML shape that CI systems (Jenkins, GitLab, Azure Pipelines,
// GitHub test reporters) read: testsuites > testsuite > testcase, with at most
// one of failure, error or skipped per testcase, plus system-out.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// verdictSuite is the suite that carries the overall verdict, so a report
// with no finding still shows one (passing) test and a CI view shows the
// verdict and the summary in one place.
const verdictSuite = "security-gate"

// JUnit writes the report as JUnit XML: one testsuite per check id (sorted),
// one testcase per (check, subject) in report order. A testcase fails when it
// has a violation, errors when it could not be decided, and is skipped when it
// only has warnings; every message of the testcase is in its system-out.
// A first suite, "security-gate", holds one testcase "verdict" with the
// summary as properties.
func JUnit(w io.Writer, r *gate.Report) error {
	n := normalize(r)
	doc := junitSuites{Name: "security-gate"}
	doc.Suites = append(doc.Suites, verdictJUnitSuite(&n))

	type key struct{ check, subject string }
	byCheck := map[string][]key{}
	findings := map[key][]gate.Finding{}
	for _, f := range all(&n) {
		k := key{f.Check, f.Subject.String()}
		if _, seen := findings[k]; !seen {
			byCheck[f.Check] = append(byCheck[f.Check], k)
		}
		findings[k] = append(findings[k], f)
	}
	checks := make([]string, 0, len(byCheck))
	for c := range byCheck {
		checks = append(checks, c)
	}
	sort.Strings(checks)
	for _, c := range checks {
		suite := junitSuite{Name: c}
		for _, k := range byCheck[c] {
			tc := junitTestcase(k.check, k.subject, findings[k])
			suite.add(tc)
		}
		doc.Suites = append(doc.Suites, suite)
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func (s *junitSuite) add(tc junitCase) {
	s.Tests++
	switch {
	case tc.Error != nil:
		s.Errors++
	case tc.Failure != nil:
		s.Failures++
	case tc.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, tc)
}

// junitTestcase folds every finding of one (check, subject) into a testcase.
// An undecided finding outweighs a violation, which outweighs a warning: the
// testcase shows the worst, system-out lists them all.
func junitTestcase(check, subject string, fs []gate.Finding) junitCase {
	name := subject
	if name == "" {
		name = check
	}
	tc := junitCase{Name: name, Classname: "security-gate." + check}
	var lines []string
	var errs, viols, warns []string
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("%s: %s", f.Severity, f.Message))
		switch f.Severity {
		case gate.SeverityError:
			errs = append(errs, f.Message)
		case gate.SeverityViolation:
			viols = append(viols, f.Message)
		default:
			warns = append(warns, f.Message)
		}
	}
	switch {
	case len(errs) > 0:
		tc.Error = &junitProblem{Message: errs[0], Type: "could-not-decide", Text: strings.Join(errs, "\n")}
	case len(viols) > 0:
		tc.Failure = &junitProblem{Message: viols[0], Type: "violation", Text: strings.Join(viols, "\n")}
	default:
		tc.Skipped = &junitProblem{Message: "warning: " + warns[0]}
	}
	tc.SystemOut = strings.Join(lines, "\n")
	return tc
}

func verdictJUnitSuite(r *gate.Report) junitSuite {
	s := r.Summary
	props := []junitProperty{
		{"verdict", string(r.Verdict)},
		{"pipelines", fmt.Sprint(s.Pipelines)},
		{"tasks", fmt.Sprint(s.Tasks)},
		{"steps", fmt.Sprint(s.Steps)},
		{"images", fmt.Sprint(s.Images)},
		{"bundles", fmt.Sprint(s.Bundles)},
		{"violations", fmt.Sprint(len(r.Violations))},
		{"warnings", fmt.Sprint(len(r.Warnings))},
		{"errors", fmt.Sprint(len(r.Errors))},
	}
	tc := junitCase{Name: "verdict", Classname: "security-gate"}
	line := verdictLine(r, painter(false))
	switch r.Verdict {
	case gate.VerdictFail:
		tc.Failure = &junitProblem{Message: line, Type: "violation"}
	case gate.VerdictError:
		tc.Error = &junitProblem{Message: line, Type: "could-not-decide"}
	}
	tc.SystemOut = line
	suite := junitSuite{Name: verdictSuite, Properties: &junitProperties{Property: props}}
	suite.add(tc)
	return suite
}
