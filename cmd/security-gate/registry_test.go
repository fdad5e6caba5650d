package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

// scanFinished is when the test vulnerability scans finished.
var scanFinished = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// signedPolicy trusts key for images and requires a vulnerability scan no
// older than a day with no CRITICAL finding.
func signedPolicy(t *testing.T, key *fixture.Signer) string {
	t.Helper()
	policy := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata:
  name: signed
spec:
  authorities:
  - name: release
    key:
      data: |
%s
    ignoreTlog: true
  images:
    requireDigest: true
    authorities: [release]
  attestations:
  - name: vulnerability-scan
    type: vuln
    maxAge: 24h
    vulnerabilities:
      deny: [CRITICAL]
`, indent(key.PublicPEM, "        "))
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// TestVerifyRegistry runs the CLI against a real registry on loopback, with
// real keys and signatures: --image, --now, and registry trouble (exit 2).
func TestVerifyRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	reg := fixture.NewRegistry(t, true)
	key := fixture.NewKey(t)
	other := fixture.NewKey(t)
	policy := signedPolicy(t, key)

	signed := fixture.PushRandomImage(t, reg.Repo("app/signed")+":v1")
	key.SignClassic(t, signed)
	key.AttestClassic(t, signed, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, scanFinished,
		fixture.Vuln{ID: "CVE-2026-0001", Severity: "LOW"}))

	bundled := fixture.PushRandomImage(t, reg.Repo("app/bundled")+":v1")
	key.SignBundle(t, bundled)
	key.AttestBundle(t, bundled, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, scanFinished))

	critical := fixture.PushRandomImage(t, reg.Repo("app/critical")+":v1")
	key.SignClassic(t, critical)
	key.AttestClassic(t, critical, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, scanFinished,
		fixture.Vuln{ID: "CVE-2026-0002", Severity: "CRITICAL", FixedVersion: "1.2.3"}))

	unsigned := fixture.PushRandomImage(t, reg.Repo("app/unsigned")+":v1")

	wrongKey := fixture.PushRandomImage(t, reg.Repo("app/wrong-key")+":v1")
	other.SignClassic(t, wrongKey)

	fresh := scanFinished.Add(time.Hour).Format(time.RFC3339)
	stale := scanFinished.Add(48 * time.Hour).Format(time.RFC3339)

	tests := []struct {
		name        string
		image       string
		now         string
		wantCode    int
		wantVerdict gate.Verdict
		wantCheck   string
		wantText    string
	}{
		{"signed, fresh scan", signed.String(), fresh, 0, gate.VerdictPass, "", ""},
		{"signed in the bundle layout", bundled.String(), fresh, 0, gate.VerdictPass, "", ""},
		{"same image, scan too old at --now", signed.String(), stale, 1, gate.VerdictFail, gate.CheckAttestation, ""},
		{"critical vulnerability", critical.String(), fresh, 1, gate.VerdictFail, gate.CheckVulnerabilities, "CVE-2026-0002"},
		{"unsigned", unsigned.String(), fresh, 1, gate.VerdictFail, gate.CheckImageSignature, ""},
		{"signed with another key", wrongKey.String(), fresh, 1, gate.VerdictFail, gate.CheckImageSignature, ""},
		// --image takes what a build pushed: a tag is resolved to a digest
		// once and that digest is verified (requireDigest is about steps).
		{"tag resolved once", reg.Repo("app/signed") + ":v1", fresh, 0, gate.VerdictPass, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r, stderr := jsonReport(t, nil, "--policy", policy, "--image", tt.image, "--now", tt.now, "--timeout", "1m")
			if code != tt.wantCode || r.Verdict != tt.wantVerdict {
				t.Fatalf("exit %d verdict %q, want %d %q\nreport: %+v\nstderr: %s", code, r.Verdict, tt.wantCode, tt.wantVerdict, r, stderr)
			}
			if tt.wantCheck != "" && !checks(r.Violations)[tt.wantCheck] {
				t.Errorf("no %s violation: %+v", tt.wantCheck, r.Violations)
			}
			if tt.wantText != "" && !strings.Contains(fmt.Sprint(r.Violations), tt.wantText) {
				t.Errorf("violations do not mention %q: %+v", tt.wantText, r.Violations)
			}
		})
	}

	// Registry trouble is "could not decide": never a pass, never a plain
	// violation. Each case uses its own image so nothing is answered from an
	// earlier result.
	troubled := fixture.PushRandomImage(t, reg.Repo("app/troubled")+":v1")
	key.SignClassic(t, troubled)
	key.AttestClassic(t, troubled, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, scanFinished))
	trouble := []struct {
		name    string
		hook    func(w http.ResponseWriter, req *http.Request) bool
		timeout string
	}{
		{"registry answers 500", func(w http.ResponseWriter, req *http.Request) bool {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}, "1m"},
		{"registry stalls past --timeout", func(w http.ResponseWriter, req *http.Request) bool {
			<-req.Context().Done()
			return true
		}, "2s"},
	}
	for _, tt := range trouble {
		t.Run(tt.name, func(t *testing.T) {
			reg.SetHook(tt.hook)
			defer reg.SetHook(nil)
			code, r, stderr := jsonReport(t, nil, "--policy", policy, "--image", troubled.String(), "--now", fresh, "--timeout", tt.timeout)
			if code != 2 || r.Verdict != gate.VerdictError || len(r.Errors) == 0 {
				t.Fatalf("exit %d verdict %q, want 2 %q with errors\nreport: %+v", code, r.Verdict, gate.VerdictError, r)
			}
			if !strings.Contains(stderr, "could not decide") {
				t.Errorf("stderr does not say why:\n%s", stderr)
			}
		})
	}
}

// TestVerifyBundles: -f inputs whose pipelineRef and taskRefs are Tekton
// bundles are read from the registry, after their signatures verify.
func TestVerifyBundles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	reg := fixture.NewRegistry(t, true)
	key := fixture.NewKey(t)
	other := fixture.NewKey(t)

	image := fixture.PushRandomImage(t, reg.Repo("tools/go")+":1")
	tasks := fixture.PushBundle(t, reg.Repo("bundles/tasks")+":v1",
		fixture.ObjectLayer("Task", "compile", fixture.TaskYAML("compile", image.String())))
	pipeline := fixture.PushBundle(t, reg.Repo("bundles/pipeline")+":v1",
		fixture.ObjectLayer("Pipeline", "release", fixture.PipelineYAML("release", tasks.String(), "compile")))
	key.SignClassic(t, tasks)
	key.SignClassic(t, pipeline)

	wrongPipeline := fixture.PushBundle(t, reg.Repo("bundles/other")+":v1",
		fixture.ObjectLayer("Pipeline", "release", fixture.PipelineYAML("release", tasks.String(), "compile")))
	other.SignClassic(t, wrongPipeline)

	policy := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata:
  name: bundles
spec:
  authorities:
  - name: release
    key:
      data: |
%s
    ignoreTlog: true
  bundles:
    required: true
    requireDigest: true
    authorities: [release]
  images:
    requireDigest: true
  securityContext:
    level: privileged
`, indent(key.PublicPEM, "        "))
	dir := t.TempDir()
	policyPath := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	runYAML := func(bundle string) string {
		return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: release-1
  namespace: ci
spec:
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: %q}
    - {name: name, value: release}
    - {name: kind, value: pipeline}
`, bundle)
	}
	tests := []struct {
		name        string
		bundle      string
		wantCode    int
		wantVerdict gate.Verdict
		wantCheck   string
	}{
		{"signed bundles", pipeline.String(), 0, gate.VerdictPass, ""},
		{"pipeline bundle signed by another key", wrongPipeline.String(), 1, gate.VerdictFail, gate.CheckBundleSignature},
		{"bundle by tag", reg.Repo("bundles/pipeline") + ":v1", 1, gate.VerdictFail, gate.CheckBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r, stderr := jsonReport(t, strings.NewReader(runYAML(tt.bundle)), "--policy", policyPath, "-f", "-", "--timeout", "1m")
			if code != tt.wantCode || r.Verdict != tt.wantVerdict {
				t.Fatalf("exit %d verdict %q, want %d %q\nreport: %+v\nstderr: %s", code, r.Verdict, tt.wantCode, tt.wantVerdict, r, stderr)
			}
			if tt.wantCheck != "" && !checks(r.Violations)[tt.wantCheck] {
				t.Errorf("no %s violation: %+v", tt.wantCheck, r.Violations)
			}
			if code == 0 && (r.Summary.Bundles != 2 || r.Summary.Steps != 1) {
				t.Errorf("summary %+v: want 2 bundles and the bundled task's step", r.Summary)
			}
		})
	}
}
