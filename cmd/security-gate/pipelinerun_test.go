package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/gate"
)

// TestVerifyPipelineRunUndecided: when the cluster cannot be reached or
// configured, --pipelinerun is "could not decide", naming the run. (Reading
// a real run is covered by the e2e suite against a real API server.)
func TestVerifyPipelineRunUndecided(t *testing.T) {
	// A loopback port with nothing listening: connection refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://%s"}
contexts:
- name: c
  context: {cluster: c, user: u, namespace: ci}
current-context: c
users:
- name: u
  user: {token: t}
`, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		wantCheck string // default: input
		wantText  []string
	}{
		{name: "missing kubeconfig", args: []string{"--kubeconfig", filepath.Join(t.TempDir(), "nope")},
			wantText: []string{"pipelinerun/release-1", "no cluster configuration"}},
		// The policy is read first, through the same configuration.
		{name: "--policy-name, API server unreachable", args: []string{"--kubeconfig", kubeconfig, "--policy-name", "strict"}, wantCheck: gate.CheckPolicy,
			wantText: []string{"clustersecuritygate/strict", `reading ClusterSecurityGate "strict"`}},
		{name: "--policy-name, missing kubeconfig", args: []string{"--kubeconfig", filepath.Join(t.TempDir(), "nope"), "--policy-name", "strict"}, wantCheck: gate.CheckPolicy,
			wantText: []string{"clustersecuritygate/strict", "no cluster configuration"}},
		{name: "API server unreachable, namespace from the context", args: []string{"--kubeconfig", kubeconfig},
			wantText: []string{"pipelinerun/ci/release-1", "cannot read the run"}},
		{name: "API server unreachable, --namespace", args: []string{"--kubeconfig", kubeconfig, "--namespace", "team-a"},
			wantText: []string{"pipelinerun/team-a/release-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--pipelinerun", "release-1", "--timeout", "30s"}, tt.args...)
			if tt.wantCheck == "" {
				tt.wantCheck = gate.CheckInput
				args = append(args, "--policy", p("policy.yaml"))
			}
			code, r, _ := jsonReport(t, nil, args...)
			if code != 2 || r.Verdict != gate.VerdictError || !checks(r.Errors)[tt.wantCheck] {
				t.Fatalf("exit %d report %+v, want exit 2 with a %s error", code, r, tt.wantCheck)
			}
			msg := fmt.Sprint(r.Errors)
			for _, s := range tt.wantText {
				if !strings.Contains(msg, s) {
					t.Errorf("errors do not mention %q: %s", s, msg)
				}
			}
		})
	}
}
