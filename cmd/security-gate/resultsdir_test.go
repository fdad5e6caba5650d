package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/result"
	"github.com/tektoncd/pipeline/pkg/termination"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/results"
)

// readResults reads the four result files of dir, checking their mode.
func readResults(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, n := range results.Names {
		path := filepath.Join(dir, n)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("result %s not written: %v", n, err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("result %s has mode %v, want 0644", n, fi.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got[n] = string(b)
	}
	return got
}

// manyViolations writes n TaskRuns in the default namespace with unpinned,
// unconfined steps: several violations each, more than the results hold.
func manyViolations(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: build-%d, namespace: default}
spec:
  taskSpec:
    steps:
    - name: compile
      image: golang:1.26
      script: go build <./... & echo "done"
`, i)
	}
	path := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyResultsDir(t *testing.T) {
	pol, in := p("policy.yaml"), p("compliant-inline.yaml")
	many := manyViolations(t, 40)
	tests := []struct {
		name         string
		args         []string
		prepare      func(t *testing.T, dir string)
		wantCode     int
		wantVerdict  gate.Verdict
		wantOmitted  bool
		wantInReport string
	}{
		{name: "pass", args: []string{"--policy", pol, "-f", in}, wantCode: 0, wantVerdict: gate.VerdictPass},
		{name: "violations", args: []string{"--policy", pol, "-f", p("noncompliant")}, wantCode: 1, wantVerdict: gate.VerdictFail,
			wantInReport: gate.CheckSecurityContext},
		{name: "warnings", args: []string{"--policy", p("policy-warn.yaml"), "-f", p("noncompliant")}, wantCode: 0, wantVerdict: gate.VerdictWarn},
		{name: "could not decide", args: []string{"--policy", p("policy-invalid.yaml"), "-f", in}, wantCode: 2, wantVerdict: gate.VerdictError,
			wantInReport: "spec.mode"},
		{name: "truncated to fit the termination message", args: []string{"--policy", pol, "-f", many}, wantCode: 1, wantVerdict: gate.VerdictFail,
			wantOmitted: true},
		{name: "stale results are replaced, mode fixed", args: []string{"--policy", pol, "-f", in}, wantCode: 0, wantVerdict: gate.VerdictPass,
			prepare: func(t *testing.T, dir string) {
				for _, n := range results.Names {
					if err := os.WriteFile(filepath.Join(dir, n), []byte("stale and much longer than any new value"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			code, rep, stderr := jsonReport(t, nil, append(tt.args, "--results-dir", dir)...)
			if code != tt.wantCode || rep.Verdict != tt.wantVerdict {
				t.Fatalf("exit %d verdict %q, want %d %q\nstderr: %s", code, rep.Verdict, tt.wantCode, tt.wantVerdict, stderr)
			}
			got := readResults(t, dir)
			// Exactly the controller's values for the report printed, sized
			// for Tekton's termination message.
			want, fits, err := results.BuildForTerminationMessage(&rep, results.TerminationMessageLimit-terminationReserve, resultsFullReport)
			if err != nil || !fits {
				t.Fatalf("BuildForTerminationMessage: fits %v, %v", fits, err)
			}
			for _, r := range want {
				if got[r.Name] != r.Value {
					t.Errorf("result %s = %q\nwant %q", r.Name, got[r.Name], r.Value)
				}
			}
			if got[results.Verdict] != string(tt.wantVerdict) || got[results.Violations] != fmt.Sprint(len(rep.Violations)) || got[results.VerifiedImages] != "[]" {
				t.Errorf("results %v do not match the report (verdict %s, %d violations, no images)", got, rep.Verdict, len(rep.Violations))
			}
			var c results.CompactReport
			if err := json.Unmarshal([]byte(got[results.Report]), &c); err != nil || c.Verdict != tt.wantVerdict {
				t.Fatalf("report result %q: %v", got[results.Report], err)
			}
			if (c.Omitted > 0) != tt.wantOmitted || tt.wantOmitted && !strings.Contains(c.Note, "the step log") {
				t.Errorf("omitted %d note %q, want truncation %v pointing at the step log", c.Omitted, c.Note, tt.wantOmitted)
			}
			if !strings.Contains(got[results.Report], tt.wantInReport) {
				t.Errorf("report result does not mention %q: %s", tt.wantInReport, got[results.Report])
			}
			// What Tekton's entrypoint does with the files: it must accept them.
			var entries []result.RunResult
			for _, n := range results.Names {
				entries = append(entries, result.RunResult{Key: n, Value: got[n], ResultType: result.TaskRunResultType})
			}
			entries = append(entries, result.RunResult{Key: "StartedAt", Value: "2026-11-27T02:32:33.123Z", ResultType: result.InternalTektonResultType},
				result.RunResult{Key: "ExitCode", Value: "1", ResultType: result.InternalTektonResultType})
			if err := termination.WriteMessage(filepath.Join(t.TempDir(), "termination-log"), entries); err != nil {
				t.Errorf("Tekton's entrypoint would reject these results: %v", err)
			}
		})
	}
}

// TestVerifyResultsDirFailures: results that cannot be written are exit 2,
// whatever the verdict; a usage error still leaves results saying why.
func TestVerifyResultsDirFailures(t *testing.T) {
	pol, in := p("policy.yaml"), p("compliant-inline.yaml")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	blocked := t.TempDir()
	// A directory where the verdict file must go: unwritable even as root.
	if err := os.Mkdir(filepath.Join(blocked, results.Verdict), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantStderr string
		wantStdout bool
	}{
		{"missing directory", []string{"--policy", pol, "-f", in, "--results-dir", filepath.Join(t.TempDir(), "nope")}, "no such file or directory", false},
		{"not a directory", []string{"--policy", pol, "-f", in, "--results-dir", file}, "not a directory", false},
		{"unwritable result, pass", []string{"--policy", pol, "-f", in, "--results-dir", blocked}, "writing the verdict result to --results-dir", true},
		{"unwritable result, violations", []string{"--policy", pol, "-f", p("noncompliant"), "--results-dir", blocked}, "writing the verdict result", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, nil, append([]string{"verify"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.wantStderr)
			}
			if (stdout != "") != tt.wantStdout {
				t.Errorf("stdout %q: want a report %v", stdout, tt.wantStdout)
			}
		})
	}

	t.Run("usage error", func(t *testing.T) {
		dir := t.TempDir()
		code, stdout, stderr := cli(t, nil, "verify", "--pipelinerun=", "--policy-name=static", "--results-dir", dir)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "--pipelinerun is empty") {
			t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
		}
		got := readResults(t, dir)
		if got[results.Verdict] != "error" || got[results.Violations] != "0" || !strings.Contains(got[results.Report], "--pipelinerun is empty") {
			t.Errorf("results do not say why nothing was verified: %v", got)
		}
	})
}
