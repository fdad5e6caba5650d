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
		name     string
		args     []string
		wantText []string
	}{
		{"missing kubeconfig", []string{"--kubeconfig", filepath.Join(t.TempDir(), "nope")},
			[]string{"pipelinerun/release-1", "no cluster configuration"}},
		{"API server unreachable, namespace from the context", []string{"--kubeconfig", kubeconfig},
			[]string{"pipelinerun/ci/release-1", "cannot read the run"}},
		{"API server unreachable, --namespace", []string{"--kubeconfig", kubeconfig, "--namespace", "team-a"},
			[]string{"pipelinerun/team-a/release-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--policy", p("policy.yaml"), "--pipelinerun", "release-1", "--timeout", "30s"}, tt.args...)
			code, r, _ := jsonReport(t, nil, args...)
			if code != 2 || r.Verdict != gate.VerdictError || !checks(r.Errors)[gate.CheckInput] {
				t.Fatalf("exit %d report %+v, want exit 2 with an input error", code, r)
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
