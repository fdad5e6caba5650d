package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/gate"
)

// cli runs the command in-process as a user would.
func cli(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code = run(args, stdin, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no arguments", args: nil, wantCode: 2, wantStderr: "Commands:"},
		{name: "unknown command", args: []string{"check"}, wantCode: 2, wantStderr: `unknown command "check"`},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "security-gate <command>"},
		{name: "--help", args: []string{"--help"}, wantCode: 0, wantStdout: "Exit status:"},
		{name: "help verify", args: []string{"help", "verify"}, wantCode: 0, wantStdout: "--policy FILE"},
		{name: "help version", args: []string{"help", "version"}, wantCode: 0, wantStdout: "security-gate version"},
		{name: "help unknown", args: []string{"help", "nope"}, wantCode: 2, wantStderr: `unknown command "nope"`},
		{name: "verify --help", args: []string{"verify", "--help"}, wantCode: 0, wantStdout: "Examples:"},
		{name: "verify -h", args: []string{"verify", "-h"}, wantCode: 0, wantStdout: "Exit status:"},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "security-gate dev (commit "},
		{name: "version json", args: []string{"version", "-o", "json"}, wantCode: 0, wantStdout: `"version": "dev"`},
		{name: "version bad format", args: []string{"version", "-o", "yaml"}, wantCode: 2, wantStderr: `unknown output format "yaml"`},
		{name: "version bad flag", args: []string{"version", "--bogus"}, wantCode: 2, wantStderr: "bogus"},
		{name: "version extra argument", args: []string{"version", "now"}, wantCode: 2, wantStderr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantStdout, stdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	_, stdout, _ := cli(t, nil, "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"version", "commit", "goVersion"} {
		if v[k] == "" {
			t.Errorf("%q is empty in %v", k, v)
		}
	}
}

// TestHelpListsEveryFlag keeps the hand-written help complete: every flag
// verify accepts appears in it.
func TestHelpListsEveryFlag(t *testing.T) {
	fs, _, _ := verifyFlagSet(&verifyOptions{})
	fs.VisitAll(func(f *flag.Flag) {
		want := "--" + f.Name + " "
		if len(f.Name) == 1 {
			want = "-" + f.Name + ", "
		}
		if !strings.Contains(verifyHelp, want) {
			t.Errorf("verify help does not document %q", want)
		}
	})
}

func TestExitCode(t *testing.T) {
	for v, want := range map[gate.Verdict]int{
		gate.VerdictPass: 0, gate.VerdictWarn: 0, gate.VerdictFail: 1, gate.VerdictError: 2, "": 2, "unknown": 2,
	} {
		if got := exitCode(v); got != want {
			t.Errorf("exitCode(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestColorWanted(t *testing.T) {
	tests := []struct {
		mode    string
		tty     bool
		noColor string
		term    string
		want    bool
	}{
		{"auto", true, "", "xterm-256color", true},
		{"auto", false, "", "xterm", false},
		{"auto", true, "1", "xterm", false},
		{"auto", true, "", "dumb", false},
		{"always", false, "1", "dumb", true},
		{"never", true, "", "xterm", false},
	}
	for _, tt := range tests {
		if got := colorWanted(tt.mode, tt.tty, tt.noColor, tt.term); got != tt.want {
			t.Errorf("colorWanted(%q, tty=%v, NO_COLOR=%q, TERM=%q) = %v, want %v", tt.mode, tt.tty, tt.noColor, tt.term, got, tt.want)
		}
	}
}
