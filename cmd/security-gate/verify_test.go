package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/manifest"
	"github.com/security-gate/security-gate/pkg/transient"
)

const td = "testdata"

func p(parts ...string) string { return filepath.Join(append([]string{td}, parts...)...) }

// jsonReport runs verify with -o json and decodes the one JSON object.
func jsonReport(t *testing.T, stdin io.Reader, args ...string) (int, gate.Report, string) {
	t.Helper()
	code, stdout, stderr := cli(t, stdin, append([]string{"verify", "-o", "json"}, args...)...)
	var r gate.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not a JSON report (exit %d): %v\nstdout: %s\nstderr: %s", code, err, stdout, stderr)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
	return code, r, stderr
}

func checks(fs []gate.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f.Check] = true
	}
	return m
}

func TestVerifyUsageErrors(t *testing.T) {
	pol := p("policy.yaml")
	in := p("compliant-inline.yaml")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"unknown flag", []string{"--policy", pol, "-f", in, "--bogus"}, "flag provided but not defined: -bogus"},
		{"missing --policy", []string{"-f", in}, "--policy FILE or --policy-name NAME is required"},
		{"--policy and --policy-name", []string{"--policy", pol, "--policy-name", "strict", "-f", in}, "alternatives"},
		{"empty --policy", []string{"--policy=", "-f", in}, "--policy is empty"},
		{"empty --policy-name", []string{"--policy-name=", "-f", in}, "--policy-name is empty"},
		{"empty --pipelinerun=", []string{"--policy", pol, "--pipelinerun="}, "--pipelinerun is empty"},
		{"empty --pipelinerun value", []string{"--policy", pol, "--pipelinerun", ""}, "--pipelinerun is empty"},
		{"empty --gate-task", []string{"--policy", pol, "-f", in, "--gate-task="}, "--gate-task is empty"},
		{"empty --namespace", []string{"--policy", pol, "--pipelinerun", "r", "--namespace="}, "--namespace is empty"},
		{"empty --results-dir", []string{"--policy", pol, "-f", in, "--results-dir="}, "--results-dir is empty"},
		{"empty --controller-namespace", []string{"--policy-name", "strict", "-f", in, "--controller-namespace="}, "--controller-namespace is empty"},
		{"--controller-namespace without --policy-name", []string{"--policy", pol, "-f", in, "--controller-namespace", "sg"}, "only with --policy-name"},
		{"empty image argument", []string{"--policy", pol, "-f", in, "--", ""}, "argument 1 is empty"},
		{"stdin as an argument", []string{"--policy", pol, "-f", in, "-"}, "stdin is read with -f -"},
		{"nothing to verify", []string{"--policy", pol}, "nothing to verify"},
		{"bad output format", []string{"--policy", pol, "-f", in, "-o", "yaml"}, `unknown output format "yaml"`},
		{"bad --now", []string{"--policy", pol, "-f", in, "--now", "yesterday"}, "RFC 3339"},
		{"date-only --now", []string{"--policy", pol, "-f", in, "--now", "2026-01-31"}, "RFC 3339"},
		{"bad --timeout", []string{"--policy", pol, "-f", in, "--timeout", "soon"}, "invalid value"},
		{"zero --timeout", []string{"--policy", pol, "-f", in, "--timeout", "0s"}, "positive duration"},
		{"zero --concurrency", []string{"--policy", pol, "-f", in, "--concurrency", "0"}, "at least 1"},
		{"bad --color", []string{"--policy", pol, "-f", in, "--color", "rainbow"}, "auto, always or never"},
		{"positional argument that is a file", []string{"--policy", pol, in}, "looks like a file: Tekton objects are given with -f"},
		{"empty -f", []string{"--policy", pol, "-f", ""}, "empty value"},
		{"stdin twice", []string{"--policy", pol, "-f", "-", "-f", "-"}, "stdin"},
		{"policy and input on stdin", []string{"--policy", "-", "-f", "-"}, "stdin"},
		{"--namespace without --pipelinerun", []string{"--policy", pol, "-f", in, "--namespace", "ci"}, "only with --pipelinerun"},
		{"--kubeconfig without the cluster", []string{"--policy", pol, "-f", in, "--kubeconfig", "k"}, "only with --pipelinerun"},
		{"--pipelinerun with -f", []string{"--policy", pol, "-f", in, "--pipelinerun", "r"}, "cannot be combined with -f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, nil, append([]string{"verify"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("a usage error printed a report on stdout:\n%s", stdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) || !strings.Contains(stderr, "verify --help") {
				t.Errorf("stderr does not contain %q and a pointer to the help:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

func TestVerifyExitCodes(t *testing.T) {
	nonCompliant, err := os.ReadFile(p("noncompliant", "run.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name        string
		args        []string
		stdin       string
		wantCode    int
		wantVerdict gate.Verdict
		// wantChecks must all be among the findings of the verdict's list
		// (errors for error, violations for fail, warnings for warn).
		wantChecks []string
		// wantText must appear in some finding's subject or message.
		wantText []string
		// wantSteps, when set, is the summary's step count: proof that the
		// inputs were really read.
		wantSteps int
		// wantNoChecks must not be among the verdict's findings.
		wantNoChecks []string
	}{
		{name: "pass", args: []string{"--policy", p("policy.yaml"), "-f", p("compliant-inline.yaml")},
			wantCode: 0, wantVerdict: gate.VerdictPass, wantSteps: 1},
		{name: "violations in Enforce mode", args: []string{"--policy", p("policy.yaml"), "-f", p("noncompliant")},
			wantCode: 1, wantVerdict: gate.VerdictFail,
			wantChecks: []string{gate.CheckNamespace, gate.CheckImageDigest, gate.CheckSecurityContext},
			wantText:   []string{"taskrun/default/build-1", `"golang:1.26"`}},
		{name: "violations in Warn mode pass with warnings", args: []string{"--policy", p("policy-warn.yaml"), "-f", p("noncompliant")},
			wantCode: 0, wantVerdict: gate.VerdictWarn,
			wantChecks: []string{gate.CheckNamespace, gate.CheckImageDigest, gate.CheckSecurityContext}},
		{name: "stdin", args: []string{"--policy", p("policy.yaml"), "-f", "-"}, stdin: string(nonCompliant),
			wantCode: 1, wantVerdict: gate.VerdictFail, wantChecks: []string{gate.CheckNamespace}, wantText: []string{"taskrun/default/build-1"}},
		{name: "policy on stdin", args: []string{"--policy", "-", "-f", p("compliant-inline.yaml")}, stdin: mustRead(t, p("policy.yaml")),
			wantCode: 0, wantVerdict: gate.VerdictPass},
		{name: "files and stdin together", args: []string{"--policy", p("policy.yaml"), "-f", p("compliant-inline.yaml"), "-f", "-"}, stdin: string(nonCompliant),
			wantCode: 1, wantVerdict: gate.VerdictFail, wantSteps: 2},
		{name: "directory read recursively", args: []string{"--policy", p("policy.yaml"), "-f", p("tree")},
			// tree/ holds a PipelineRun, its Pipeline, and in a
			// subdirectory the Task it references; tree/ignored.txt is not
			// YAML and must not be read.
			wantCode: 0, wantVerdict: gate.VerdictPass, wantSteps: 1},
		{name: "invalid policy", args: []string{"--policy", p("policy-invalid.yaml"), "-f", p("compliant-inline.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckPolicy},
			wantText: []string{"spec.mode", "Enforce, Warn", "spec.securityContext.level", "spec.images.authorities[0]", "policy-invalid.yaml"}},
		// The inputs are read while the policy is parsed: a policy that
		// cannot be used is still the one finding, whatever the inputs hold.
		{name: "invalid policy and a broken input", args: []string{"--policy", p("policy-invalid.yaml"), "-f", p("invalid", "broken.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckPolicy}, wantNoChecks: []string{gate.CheckInput},
			wantText: []string{"policy-invalid.yaml"}},
		{name: "missing policy and a missing input", args: []string{"--policy", p("nope.yaml"), "-f", p("nope-either.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckPolicy}, wantNoChecks: []string{gate.CheckInput},
			wantText: []string{"nope.yaml"}},
		{name: "missing policy", args: []string{"--policy", p("nope.yaml"), "-f", p("compliant-inline.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckPolicy}, wantText: []string{"nope.yaml"}},
		{name: "policy is a Task", args: []string{"--policy", p("compliant", "task.yaml"), "-f", p("compliant-inline.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckPolicy}, wantText: []string{"apiVersion"}},
		{name: "secretRef rejected", args: []string{"--policy", p("policy-secretref.yaml"), "-f", p("compliant-inline.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckPolicy},
			wantText: []string{"spec.authorities[0].key.secretRef", "key.data"}},
		{name: "unknown field in a manifest", args: []string{"--policy", p("policy.yaml"), "-f", p("invalid", "misspelt.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckInput},
			wantText: []string{"misspelt.yaml (document 2)", "securityContex"}},
		{name: "not a Tekton kind", args: []string{"--policy", p("policy.yaml"), "-f", p("invalid", "configmap.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckInput}, wantText: []string{"configmap.yaml", "ConfigMap"}},
		{name: "not YAML", args: []string{"--policy", p("policy.yaml"), "-f", p("invalid", "broken.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckInput}, wantText: []string{"broken.yaml"}},
		{name: "missing input file", args: []string{"--policy", p("policy.yaml"), "-f", p("nope.yaml")},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckInput}, wantText: []string{"nope.yaml"}},
		{name: "empty directory", args: []string{"--policy", p("policy.yaml"), "-f", empty},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckInput}, wantText: []string{"no Tekton object"}},
		{name: "empty stdin", args: []string{"--policy", p("policy.yaml"), "-f", "-"},
			wantCode: 2, wantVerdict: gate.VerdictError, wantChecks: []string{gate.CheckInput}},
		{name: "a StepAction alone is judged, never a silent pass", args: []string{"--policy", p("policy.yaml"), "-f", "-"},
			stdin:    "apiVersion: tekton.dev/v1beta1\nkind: StepAction\nmetadata: {name: lint}\nspec: {image: 'golang:1.26'}\n",
			wantCode: 1, wantVerdict: gate.VerdictFail, wantChecks: []string{gate.CheckImageDigest, gate.CheckSecurityContext},
			wantText: []string{"stepaction/lint step=lint"}, wantSteps: 1},
		{name: "a violation beside something undecided: fail, exit 1, the undecided finding listed",
			args: []string{"--policy", p("policy.yaml"), "-f", "-"}, stdin: undecidedAndViolation,
			wantCode: 1, wantVerdict: gate.VerdictFail, wantChecks: []string{gate.CheckNamespace},
			wantText: []string{"more than 256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r, stderr := jsonReport(t, strings.NewReader(tt.stdin), tt.args...)
			if code != tt.wantCode || r.Verdict != tt.wantVerdict {
				t.Fatalf("exit %d verdict %q, want %d %q\nreport: %+v\nstderr: %s", code, r.Verdict, tt.wantCode, tt.wantVerdict, r, stderr)
			}
			list := map[gate.Verdict][]gate.Finding{gate.VerdictError: r.Errors, gate.VerdictFail: r.Violations, gate.VerdictWarn: r.Warnings}[r.Verdict]
			got := checks(list)
			for _, c := range tt.wantChecks {
				if !got[c] {
					t.Errorf("no %q finding in %+v", c, list)
				}
			}
			for _, c := range tt.wantNoChecks {
				if got[c] {
					t.Errorf("a %q finding in %+v, want none", c, list)
				}
			}
			all, _ := json.Marshal(r)
			for _, s := range tt.wantText {
				if !strings.Contains(string(all), jsonEscape(s)) {
					t.Errorf("report does not mention %q:\n%s", s, all)
				}
			}
			if tt.wantSteps != 0 && r.Summary.Steps != tt.wantSteps {
				t.Errorf("summary %+v: steps %d, want %d", r.Summary, r.Summary.Steps, tt.wantSteps)
			}
			if (code == 2 || len(r.Errors) > 0) && !strings.Contains(stderr, "could not decide") {
				t.Errorf("undecided findings with -o json, but stderr does not say what could not be decided:\n%s", stderr)
			}
			if tt.wantVerdict == gate.VerdictFail && strings.Contains(tt.name, "undecided") && len(r.Errors) == 0 {
				t.Errorf("the undecided finding is not listed: %+v", r)
			}
		})
	}
}

// undecidedAndViolation runs in a denied namespace (a violation) a matrix
// too large to judge (undecided).
var undecidedAndViolation = `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: big, namespace: default}
spec:
  pipelineSpec:
    tasks:
    - name: fan
      matrix:
        params:
        - {name: a, value: [` + strings.Repeat("p,", 16) + `p]}
        - {name: b, value: [` + strings.Repeat("q,", 16) + `q]}
      taskSpec:
        params: [{name: a}, {name: b}]
        steps: [{name: s, image: "registry.example.com/t@sha256:` + strings.Repeat("c", 64) + `"}]
`

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVerifyFormats: every -o format carries the verdict and the findings,
// with the same exit code.
func TestVerifyFormats(t *testing.T) {
	base := []string{"verify", "--policy", p("policy.yaml"), "-f", p("noncompliant")}
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"text", func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if !strings.HasPrefix(lines[len(lines)-1], "FAIL: 6 violations, 0 warnings") {
				t.Errorf("last line %q is not the verdict", lines[len(lines)-1])
			}
			if !strings.Contains(out, "task build-1\n") || !strings.Contains(out, "  ✗ [image-digest] taskrun/default/build-1 step=compile: ") {
				t.Errorf("findings are not grouped by task, one per line:\n%s", out)
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("colour in output that is not a terminal:\n%q", out)
			}
		}},
		{"json", func(t *testing.T, out string) {
			var r map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if string(r["verdict"]) != `"fail"` {
				t.Errorf("verdict %s", r["verdict"])
			}
			if string(r["warnings"]) != "[]" {
				t.Errorf("warnings = %s, want []", r["warnings"])
			}
		}},
		{"junit", func(t *testing.T, out string) {
			var doc struct {
				Failures int `xml:"failures,attr"`
				Suites   []struct {
					Name string `xml:"name,attr"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("not XML: %v\n%s", err, out)
			}
			// 6 violations on 3 distinct (check, subject) pairs + the verdict.
			if doc.Failures != 4 {
				t.Errorf("failures = %d, want 4\n%s", doc.Failures, out)
			}
		}},
		{"sarif", func(t *testing.T, out string) {
			var log struct {
				Version string `json:"version"`
				Runs    []struct {
					Results []struct {
						RuleID    string `json:"ruleId"`
						Level     string `json:"level"`
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct {
									URI string `json:"uri"`
								} `json:"artifactLocation"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &log); err != nil {
				t.Fatal(err)
			}
			if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 6 {
				t.Fatalf("unexpected SARIF: %s", out)
			}
			// Each result points at the file that holds its object.
			for _, r := range log.Runs[0].Results {
				if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "testdata/noncompliant/run.yaml" {
					t.Errorf("result %s: locations %+v, want testdata/noncompliant/run.yaml", r.RuleID, r.Locations)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			code, stdout, stderr := cli(t, nil, append(base, "-o", tt.format)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstderr: %s", code, stderr)
			}
			tt.check(t, stdout)
		})
	}
}

func TestVerifyColorFlag(t *testing.T) {
	base := []string{"verify", "--policy", p("policy.yaml"), "-f", p("noncompliant")}
	_, always, _ := cli(t, nil, append(base, "--color", "always")...)
	if !strings.Contains(always, "\x1b[31m") {
		t.Errorf("--color always: no colour:\n%q", always)
	}
	t.Setenv("NO_COLOR", "")
	_, auto, _ := cli(t, nil, base...)
	_, never, _ := cli(t, nil, append(base, "--color", "never")...)
	if strings.Contains(auto, "\x1b[") || strings.Contains(never, "\x1b[") {
		t.Errorf("colour written to a non-terminal:\n%q\n%q", auto, never)
	}
}

// TestVerifyReproducible: with --now the report is a function of the inputs.
func TestVerifyReproducible(t *testing.T) {
	args := []string{"verify", "-o", "json", "--policy", p("policy.yaml"), "-f", p("noncompliant"), "-f", p("compliant-inline.yaml"), "--now", "2026-01-31T00:00:00Z"}
	_, first, _ := cli(t, nil, args...)
	for i := 0; i < 3; i++ {
		if _, again, _ := cli(t, nil, args...); again != first {
			t.Fatalf("run %d differs:\n%s\nvs\n%s", i+2, again, first)
		}
	}
}

// TestVerifyStdinTimeout: a stdin that never ends is "could not decide" at
// --timeout, not a hang and not a pass.
func TestVerifyStdinTimeout(t *testing.T) {
	r, w := io.Pipe()
	defer func() { _ = w.Close() }()
	code, r2, _ := jsonReport(t, r, "--policy", p("policy.yaml"), "-f", "-", "--timeout", "200ms")
	if code != 2 || r2.Verdict != gate.VerdictError || !checks(r2.Errors)[gate.CheckInput] {
		t.Fatalf("exit %d, report %+v; want exit 2 with an input error", code, r2)
	}
}

// An invalid policy is one finding per problem, each naming the policy, the
// field path and what is expected, read from the structured error (never
// from its text); anything else is one finding, transient when it may go
// away.
func TestPolicyFindings(t *testing.T) {
	_, invalid := v1alpha1.ParsePolicy([]byte("apiVersion: securitygate.dev/v1alpha1\nkind: ClusterSecurityGate\nmetadata: {name: x}\n" +
		"spec:\n  mode: Sometimes\n  Images: {}\n  authorities: [{keyless: {issuer: i, subject: s}}, {name: b, key: {data: d}, keyless: {issuer: i, subject: s}}]\n"))
	for _, tc := range []struct {
		name          string
		err           error
		want          []string
		wantTransient bool
	}{{
		name: "invalid policy",
		err:  invalid,
		want: []string{
			"invalid policy: ClusterSecurityGate/x: expected exactly one, got both: spec.authorities[1].key, spec.authorities[1].keyless",
			"invalid policy: ClusterSecurityGate/x: invalid value: Sometimes: spec.mode; allowed: Enforce, Warn",
			"invalid policy: ClusterSecurityGate/x: missing field(s): spec.authorities[0].name",
			"invalid policy: ClusterSecurityGate/x: unknown field: spec.Images",
		},
	}, {
		name: "one line",
		err:  errors.New("ClusterSecurityGate \"x\" not found"),
		want: []string{"ClusterSecurityGate \"x\" not found"},
	}, {
		name:          "the API server did not answer",
		err:           fmt.Errorf("reading ClusterSecurityGate \"x\": %w", transient.Mark(errors.New("etcd timeout"))),
		want:          []string{"reading ClusterSecurityGate \"x\": etcd timeout"},
		wantTransient: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fs := policyFindings(gate.TextSubject("p.yaml"), tc.err)
			var got []string
			for _, f := range fs {
				got = append(got, f.Message)
				if f.Subject.String() != "p.yaml" || f.Check != gate.CheckPolicy || f.Severity != gate.SeverityError || f.Transient != tc.wantTransient {
					t.Errorf("finding %+v, want subject p.yaml, check policy, severity error, transient %v", f, tc.wantTransient)
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("messages (-want +got):\n%s", d)
			}
		})
	}
}

func TestLocator(t *testing.T) {
	var docs []manifest.Document
	for _, src := range []struct{ file, yaml string }{
		{"a.yaml", "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: shared}\nspec: {steps: [{name: s, image: img-x}]}\n---\napiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, namespace: ci}\nspec: {taskRef: {name: shared}}\n"},
		{"b.yaml", "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: shared}\nspec: {steps: [{name: s, image: img-y}]}\n---\napiVersion: tekton.dev/v1beta1\nkind: Pipeline\nmetadata: {name: p}\nspec: {tasks: [{name: t, taskRef: {name: shared}}]}\n"},
		{"-", "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: from-stdin, namespace: ci}\nspec: {pipelineRef: {name: p}}\n"},
	} {
		d, err := manifest.ParseBytes([]byte(src.yaml), src.file)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d...)
	}
	locate := locator(docs, "policy.yaml")
	for subject, want := range map[gate.Subject]string{
		gate.ObjectSubject("taskrun", "ci", "r").WithStep("s"):              "a.yaml",
		gate.ObjectSubject("pipeline", "", "p").WithTask("t"):               "b.yaml", // v1beta1, converted
		gate.ObjectSubject("task", "", "shared").WithStep("s"):              "",       // in two files: ambiguous
		gate.ObjectSubject("pipelinerun", "ci", "from-stdin").WithTask("t"): "",       // stdin has no file
		gate.TextSubject("policy.yaml"):                                     "policy.yaml",
		gate.ImageSubject("registry.example.com/app:1.0"):                   "",
	} {
		got, ok := locate(subject)
		if got != want || ok != (want != "") {
			t.Errorf("locate(%q) = %q, %v; want %q", subject, got, ok, want)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// TestVerifyUnwritableOutput: a pass that cannot be reported is not a pass.
func TestVerifyUnwritableOutput(t *testing.T) {
	for _, format := range []string{"text", "json", "junit", "sarif"} {
		var stderr strings.Builder
		code := run([]string{"verify", "--policy", p("policy.yaml"), "-f", p("compliant-inline.yaml"), "-o", format},
			strings.NewReader(""), failingWriter{}, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "writing the "+format+" report") {
			t.Errorf("-o %s: exit %d, stderr %q; want exit 2 naming the failed write", format, code, stderr.String())
		}
	}
}
