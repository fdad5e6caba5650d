package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestTimeoutBudget: the run's default budget is at most two minutes, and a
// registry request's budget (all its retries included) is a fraction of the
// run's, so a stalled registry is named before the run gives up.
func TestTimeoutBudget(t *testing.T) {
	o, err := parseVerifyFlags([]string{"--policy", "p.yaml", "--image", "registry.example/app@sha256:" + strings.Repeat("a", 64)})
	if err != nil {
		t.Fatal(err)
	}
	if o.timeout <= 0 || o.timeout > 2*time.Minute {
		t.Fatalf("default --timeout %s, want at most 2m", o.timeout)
	}
	for _, tt := range []struct{ run, want time.Duration }{
		{2 * time.Minute, 30 * time.Second},
		{time.Hour, 30 * time.Second},
		{4 * time.Second, time.Second},
		{200 * time.Millisecond, 50 * time.Millisecond},
	} {
		if got := registryTimeout(tt.run); got != tt.want {
			t.Errorf("registryTimeout(%s) = %s, want %s", tt.run, got, tt.want)
		}
	}
}

// TestStalledRegistryNamed: a registry that accepts connections and never
// answers is "could not decide" (exit 2) naming the registry request that
// stalled, asked once, not asked again until --timeout runs out.
func TestStalledRegistryNamed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	reg := fixture.NewRegistry(t, true)
	key := fixture.NewKey(t)
	policy := signedPolicy(t, key)
	img := fixture.PushRandomImage(t, reg.Repo("app/stalled")+":v1")
	key.SignClassic(t, img)
	key.AttestClassic(t, img, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, scanFinished))
	reg.SetHook(func(w http.ResponseWriter, req *http.Request) bool {
		<-req.Context().Done()
		return true
	})
	defer reg.SetHook(nil)

	code, r, stderr := jsonReport(t, nil, "--policy", policy, "--image", img.String(),
		"--now", scanFinished.Add(time.Hour).Format(time.RFC3339), "--timeout", "4s")
	if code != 2 || r.Verdict != gate.VerdictError || len(r.Errors) == 0 {
		t.Fatalf("exit %d verdict %q, want 2 %q with errors\nreport: %+v\nstderr: %s", code, r.Verdict, gate.VerdictError, r, stderr)
	}
	var msgs []string
	for _, f := range r.Errors {
		msgs = append(msgs, f.Check+": "+f.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{reg.Host, "after 1 attempt: registry request timed out (budget 1s"} {
		if !strings.Contains(all, want) {
			t.Errorf("errors do not say %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "did not finish within --timeout") {
		t.Errorf("the run waited out --timeout instead of naming the stalled request:\n%s", all)
	}
	if !strings.Contains(stderr, "could not decide") {
		t.Errorf("stderr does not say could not decide:\n%s", stderr)
	}
}
