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
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/test/fixture"
)

// keylessPolicy trusts a keyless identity with no trustedRoot: the public
// Sigstore instance's root, or what --sigstore-tuf-mirror names.
func keylessPolicy(t *testing.T, subject string) string {
	t.Helper()
	policy := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata:
  name: keyless
spec:
  authorities:
  - name: ci
    keyless:
      issuer: https://issuer.example.com
      subject: %s
    ignoreSCT: true
  images:
    authorities: [ci]
`, subject)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The CLI reads the trusted root of keyless authorities through TUF, from a
// repository on loopback standing for the public instance, and cannot
// decide (exit 2) when that repository fails.
func TestVerifyKeylessThroughTUF(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry and a TUF repository")
	}
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	repo := fixture.NewTUFRepo(t, time.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(ca.TrustedRootJSON)})
	rootFile := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(rootFile, repo.InitialRoot(), 0o600); err != nil {
		t.Fatal(err)
	}
	img := fixture.PushRandomImage(t, reg.Repo("app/keyless")+":v1")
	ca.Signer(t, "builder@example.com", "https://issuer.example.com").SignBundle(t, img)
	tuf := []string{"--sigstore-tuf-mirror", repo.URL, "--sigstore-tuf-root", rootFile, "--tuf-cache-dir", t.TempDir(), "--timeout", "1m"}

	for _, tc := range []struct {
		name     string
		subject  string
		hook     func(w http.ResponseWriter, r *http.Request) bool
		wantCode int
		wantText string
	}{
		{name: "signed by the identity", subject: "builder@example.com", wantCode: 0},
		{name: "another identity", subject: "someone@example.com", wantCode: 1},
		{name: "TUF repository answers 500", subject: "builder@example.com", wantCode: 2, wantText: "TUF repository " + repo.URL,
			hook: func(w http.ResponseWriter, _ *http.Request) bool {
				w.WriteHeader(http.StatusInternalServerError)
				return true
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo.SetHook(tc.hook)
			defer repo.SetHook(nil)
			args := append([]string{"--policy", keylessPolicy(t, tc.subject), "--image", img.String()}, tuf...)
			code, r, stderr := jsonReport(t, nil, args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nreport: %+v\nstderr: %s", code, tc.wantCode, r, stderr)
			}
			if tc.wantCode == 2 && (r.Verdict != gate.VerdictError || !strings.Contains(fmt.Sprint(r.Errors), tc.wantText)) {
				t.Fatalf("verdict %q errors %+v, want an error naming %q", r.Verdict, r.Errors, tc.wantText)
			}
		})
	}
}

func TestTUFFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sigstore-tuf-root", "root.json"}, "--sigstore-tuf-root needs --sigstore-tuf-mirror"},
		{[]string{"--sigstore-tuf-mirror", "tuf.example.com"}, "--sigstore-tuf-mirror"},
	} {
		code, _, stderr := cli(t, nil, append([]string{"verify", "--policy", "testdata/policy.yaml", "--image", "registry.example.com/a@sha256:" + strings.Repeat("a", 64)}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// `tuf serialize` writes a repository a policy carries: verification then
// needs no network at all.
func TestTUFSerializeForAnAirGappedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry and a TUF repository")
	}
	reg := fixture.NewRegistry(t, true)
	ca := fixture.NewCA(t)
	repo := fixture.NewTUFRepo(t, time.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(ca.TrustedRootJSON)})
	repo.RotateKeys(t)
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.json")
	if err := os.WriteFile(rootFile, repo.InitialRoot(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "repository.b64")
	if code, stdout, stderr := cli(t, nil, "tuf", "serialize", "--mirror", repo.URL, "--root", rootFile, "-o", out); code != 0 {
		t.Fatalf("tuf serialize: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	serialized, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	repo.Server.Close()

	img := fixture.PushRandomImage(t, reg.Repo("app/airgapped")+":v1")
	ca.Signer(t, "builder@example.com", "https://issuer.example.com").SignClassic(t, img)
	policy := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata:
  name: airgapped
spec:
  authorities:
  - name: ci
    keyless:
      issuer: https://issuer.example.com
      subject: builder@example.com
      tuf:
        repository: %s
        root: '%s'
    ignoreSCT: true
  images:
    authorities: [ci]
`, strings.TrimSpace(string(serialized)), repo.InitialRoot())
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	code, r, stderr := jsonReport(t, nil, "--policy", path, "--image", img.String(), "--tuf-cache-dir", t.TempDir(), "--timeout", "1m")
	if code != 0 {
		t.Fatalf("exit %d, report %+v\nstderr: %s", code, r, stderr)
	}
}
