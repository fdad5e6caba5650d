package vsa

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/security-gate/security-gate/pkg/gate"
	secoci "github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/test/fixture"
)

// A summary that cannot be written is an error finding, transient exactly
// when the registry's refusal may go away (the registry client marks it
// where it arises): the controller retries a 503, never a 403.
func TestSummarizeWriteFailures(t *testing.T) {
	s, _ := newSigner(t, "")
	reg := fixture.NewRegistry(t, true)
	d := fixture.PushRandomImage(t, reg.Repo("app/summarized")+":v1")
	for _, tc := range []struct {
		name          string
		status        int
		wantTransient bool
	}{
		{"registry busy", http.StatusServiceUnavailable, true},
		{"write refused", http.StatusForbidden, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.SetHook(func(w http.ResponseWriter, req *http.Request) bool {
				if req.Method == http.MethodGet || req.Method == http.MethodHead {
					return false
				}
				http.Error(w, tc.name, tc.status)
				return true
			})
			defer reg.SetHook(nil)
			w := &Writer{Signer: s, Layouts: []Layout{LayoutClassic}, Now: func() time.Time { return at },
				Options: func(ctx context.Context) []remote.Option {
					return []remote.Option{remote.WithContext(ctx),
						remote.WithTransport(secoci.Transport(secoci.Options{Timeout: 5 * time.Second, Backoff: time.Millisecond}))}
				}}
			rep := &gate.Report{Verdict: gate.VerdictPass, Violations: []gate.Finding{}, Warnings: []gate.Finding{}, VerifiedImages: []string{d.String()}}
			Summarize(context.Background(), w, rep, Pass{Policy: buildPolicy, VerifierID: DefaultVerifierID, Version: "test", Now: at})
			if rep.Verdict != gate.VerdictError || len(rep.Errors) != 1 {
				t.Fatalf("verdict %s, errors %+v; want one error finding", rep.Verdict, rep.Errors)
			}
			if f := rep.Errors[0]; f.Check != gate.CheckVerificationSummary || f.Transient != tc.wantTransient {
				t.Errorf("finding %+v, want check %s, transient %v", f, gate.CheckVerificationSummary, tc.wantTransient)
			}
		})
	}
}
