package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

// vsaKey writes a cosign key pair encrypted with password and returns the
// private key's path and the public PEM.
func vsaKey(t *testing.T, password string) (string, string) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "gate.key")
	if err := os.WriteFile(p, kb.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, string(kb.PublicBytes)
}

// promotionPolicy accepts summaries of ClusterSecurityGate/signed signed by
// gatePub, and would otherwise need a signature by nobody's key.
func promotionPolicy(t *testing.T, gatePub string, mode string) string {
	t.Helper()
	other := fixture.NewKey(t)
	doc := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: promotion}
spec:
  mode: %s
  authorities:
  - name: nobody
    key:
      data: |
%s
    ignoreTlog: true
  - name: build-gate
    key:
      data: |
%s
    ignoreTlog: true
  images:
    authorities: [nobody]
    acceptSummaries:
      authorities: [build-gate]
      maxAge: 24h
      policies: [{kind: ClusterSecurityGate, name: signed}]
`, mode, indent(other.PublicPEM, "        "), indent(gatePub, "        "))
	p := filepath.Join(t.TempDir(), "promotion.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func notesText(r gate.Report) string {
	var b strings.Builder
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "[%s] %s: %s\n", n.Check, n.Subject, n.Message)
	}
	return b.String()
}

// TestVSAKey: a pass with --vsa-key writes a summary a promotion policy
// then accepts instead of verifying again; a failed run writes none; a key
// that cannot be used, or a registry that refuses the write, is exit 2.
func TestVSAKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	reg := fixture.NewRegistry(t, true)
	key := fixture.NewKey(t)
	policy := signedPolicy(t, key)
	t.Setenv("COSIGN_PASSWORD", "correct horse")
	gateKey, gatePub := vsaKey(t, "correct horse")
	fresh := scanFinished.Add(time.Hour).Format(time.RFC3339)

	image := func(name, severity string) string {
		d := fixture.PushRandomImage(t, reg.Repo(name)+":v1")
		key.SignClassic(t, d)
		key.AttestClassic(t, d, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, scanFinished, fixture.Vuln{ID: "CVE-2026-7", Severity: severity}))
		return d.String()
	}

	t.Run("a pass writes a summary the promotion accepts", func(t *testing.T) {
		img := image("vsa/pass", "LOW")
		promotion := promotionPolicy(t, gatePub, "Enforce")
		code, _, stderr := jsonReport(t, nil, "--policy", promotion, "--image", img, "--now", fresh)
		if code != 1 {
			t.Fatalf("before any summary the promotion must verify the image (and fail: nobody signed it): exit %d\n%s", code, stderr)
		}
		for _, layout := range []string{"classic", "bundle", "both"} {
			code, r, stderr := jsonReport(t, nil, "--policy", policy, "--image", img, "--now", fresh, "--vsa-key", gateKey, "--vsa-layout", layout)
			if code != 0 || !strings.Contains(notesText(r), "verification summary written") {
				t.Fatalf("--vsa-layout %s: exit %d, notes:\n%s\nerrors %+v\nstderr %s", layout, code, notesText(r), r.Errors, stderr)
			}
		}
		code, r, stderr := jsonReport(t, nil, "--policy", promotion, "--image", img, "--now", fresh)
		if code != 0 || !strings.Contains(notesText(r), "accepted the verification summary") || len(r.VerifiedImages) != 1 {
			t.Fatalf("the promotion did not accept the summary: exit %d\nnotes:\n%s\nviolations %+v\nstderr %s", code, notesText(r), r.Violations, stderr)
		}
		later := scanFinished.Add(26 * time.Hour).Format(time.RFC3339)
		if code, r, _ = jsonReport(t, nil, "--policy", promotion, "--image", img, "--now", later); code != 1 {
			t.Errorf("a summary older than maxAge was accepted: exit %d, notes:\n%s", code, notesText(r))
		}
	})

	t.Run("a failed run writes no summary", func(t *testing.T) {
		img := image("vsa/critical", "CRITICAL")
		code, r, _ := jsonReport(t, nil, "--policy", policy, "--image", img, "--now", fresh, "--vsa-key", gateKey)
		if code != 1 || strings.Contains(notesText(r), "verification summary") {
			t.Fatalf("exit %d, notes:\n%s", code, notesText(r))
		}
		if code, _, _ = jsonReport(t, nil, "--policy", promotionPolicy(t, gatePub, "Enforce"), "--image", img, "--now", fresh); code != 1 {
			t.Errorf("a failed image passed the promotion: exit %d", code)
		}
	})

	t.Run("mode Warn writes no summary", func(t *testing.T) {
		img := image("vsa/warn", "LOW")
		warn := strings.Replace(readFile(t, policy), "spec:\n", "spec:\n  mode: Warn\n", 1)
		wp := filepath.Join(t.TempDir(), "warn.yaml")
		if err := os.WriteFile(wp, []byte(warn), 0o600); err != nil {
			t.Fatal(err)
		}
		code, r, _ := jsonReport(t, nil, "--policy", wp, "--image", img, "--now", fresh, "--vsa-key", gateKey)
		if code != 0 || !strings.Contains(notesText(r), "no verification summary written: the policy's mode is Warn") {
			t.Fatalf("exit %d, notes:\n%s", code, notesText(r))
		}
	})

	t.Run("a registry that refuses the write is exit 2", func(t *testing.T) {
		img := image("vsa/refused", "LOW")
		reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch {
				w.WriteHeader(http.StatusForbidden)
				return true
			}
			return false
		})
		defer reg.SetHook(nil)
		code, r, _ := jsonReport(t, nil, "--policy", policy, "--image", img, "--now", fresh, "--vsa-key", gateKey)
		if code != 2 || r.Verdict != gate.VerdictError || !checks(r.Errors)[gate.CheckVerificationSummary] {
			t.Fatalf("exit %d verdict %s errors %+v", code, r.Verdict, r.Errors)
		}
	})

	img := image("vsa/usage", "LOW")
	for _, tt := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"missing key file", []string{"--vsa-key", filepath.Join(t.TempDir(), "none.key")}, "correct horse", "--vsa-key"},
		{"wrong password", []string{"--vsa-key", gateKey}, "wrong", "is the password right?"},
		{"a public key", []string{"--vsa-key", writeTemp(t, gatePub)}, "correct horse", "is not a private key"},
		{"unknown layout", []string{"--vsa-key", gateKey, "--vsa-layout", "oci"}, "correct horse", "--vsa-layout"},
		{"layout without key", []string{"--vsa-layout", "bundle"}, "correct horse", "--vsa-layout applies only with --vsa-key"},
		{"empty key", []string{"--vsa-key="}, "correct horse", "--vsa-key is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("COSIGN_PASSWORD", tt.env)
			code, r, _ := jsonReport(t, nil, append([]string{"--policy", policy, "--image", img, "--now", fresh}, tt.args...)...)
			if code != 2 || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, tt.want) {
				t.Fatalf("exit %d errors %+v, want exit 2 mentioning %q", code, r.Errors, tt.want)
			}
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
