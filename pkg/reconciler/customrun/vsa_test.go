package customrun

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestSummarize: with vsa-signing-secret set, a pass writes a summary of
// every verified image signed with the Secret's key; what cannot be written
// fails the attempt closed (transient when the API may recover), and an
// inline or Warn-mode policy gets a note instead.
func TestSummarize(t *testing.T) {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	reg := fixture.NewRegistry(t, true)
	img := fixture.PushRandomImage(t, reg.Repo("gate/app")+":v1")
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	good := map[string][]byte{"cosign.key": kb.PrivateBytes, "cosign.password": []byte("pw")}
	enforce := &v1alpha1.SecurityGateSpec{Mode: v1alpha1.ModeEnforce}
	warn := &v1alpha1.SecurityGateSpec{Mode: v1alpha1.ModeWarn}
	pass := func() *gate.Report {
		return &gate.Report{Verdict: gate.VerdictPass, Violations: []gate.Finding{}, Warnings: []gate.Finding{}, VerifiedImages: []string{img.String()}}
	}
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "vsa")
	named := func(s *v1alpha1.SecurityGateSpec) *policyload.Policy {
		return &policyload.Policy{Policy: v1alpha1.Policy{Kind: v1alpha1.KindClusterSecurityGate, ObjectMeta: metav1.ObjectMeta{Name: "build"}, Spec: *s}}
	}
	inline := func(s *v1alpha1.SecurityGateSpec) *policyload.Policy {
		return &policyload.Policy{Policy: v1alpha1.Policy{Kind: v1alpha1.KindSecurityGate, Spec: *s}, Inline: true}
	}
	for _, tt := range []struct {
		name      string
		secret    string
		data      map[string][]byte
		getErr    error
		policy    *policyload.Policy
		rep       func() *gate.Report
		verdict   gate.Verdict
		note      string
		errText   string
		transient bool
	}{
		{name: "written", secret: "vsa", data: good, policy: named(enforce), rep: pass,
			verdict: gate.VerdictPass, note: "verification summary written (https://slsa.dev/verification_summary/v1, policy ClusterSecurityGate/build"},
		{name: "not configured", policy: named(enforce), rep: pass, verdict: gate.VerdictPass},
		{name: "a failed run", secret: "vsa", data: good, policy: named(enforce),
			rep: func() *gate.Report {
				r := pass()
				r.Verdict, r.Violations = gate.VerdictFail, []gate.Finding{{Check: gate.CheckImageSignature, Message: "unsigned"}}
				return r
			}, verdict: gate.VerdictFail},
		{name: "inline policy", secret: "vsa", data: good, policy: inline(enforce), rep: pass,
			verdict: gate.VerdictPass, note: "the policy is inline"},
		{name: "mode Warn", secret: "vsa", data: good, policy: named(warn), rep: pass,
			verdict: gate.VerdictPass, note: "mode is Warn"},
		{name: "Secret missing", secret: "vsa", getErr: notFound, policy: named(enforce), rep: pass,
			verdict: gate.VerdictError, errText: "reading secret security-gate/vsa"},
		{name: "API trouble", secret: "vsa", getErr: errors.New("connection refused"), policy: named(enforce), rep: pass,
			verdict: gate.VerdictError, errText: "connection refused", transient: true},
		{name: "no private key", secret: "vsa", data: map[string][]byte{"cosign.pub": kb.PublicBytes}, policy: named(enforce), rep: pass,
			verdict: gate.VerdictError, errText: `has no key "cosign.key"`},
		{name: "wrong password", secret: "vsa", data: map[string][]byte{"cosign.key": kb.PrivateBytes, "cosign.password": []byte("no")}, policy: named(enforce), rep: pass,
			verdict: gate.VerdictError, errText: "is the password right?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			signers.signer, signers.version = nil, ""
			r := &Reconciler{Clock: clk, SystemNamespace: "security-gate",
				SummaryKeys: func(_ context.Context, ns, name string) (map[string][]byte, string, error) {
					if ns != "security-gate" || name != tt.secret {
						t.Errorf("read secret %s/%s", ns, name)
					}
					return tt.data, "1", tt.getErr
				}}
			cfg := config.Default()
			cfg.VSA.SigningSecret = tt.secret
			rep := tt.rep()
			r.summarize(context.Background(), cfg, tt.policy, authn.NewMultiKeychain(), rep)
			if got := gate.Decide(rep); got != tt.verdict || rep.Verdict != tt.verdict {
				t.Fatalf("verdict %s (recorded %s), want %s; errors %+v", got, rep.Verdict, tt.verdict, rep.Errors)
			}
			var notes []string
			for _, n := range rep.Notes {
				notes = append(notes, n.Message)
			}
			if (tt.note == "") != (len(notes) == 0) || !strings.Contains(strings.Join(notes, "\n"), tt.note) {
				t.Errorf("notes %q, want one saying %q", notes, tt.note)
			}
			if tt.errText != "" {
				if len(rep.Errors) != 1 || rep.Errors[0].Check != gate.CheckVerificationSummary ||
					!strings.Contains(rep.Errors[0].Message, tt.errText) || rep.Errors[0].Transient != tt.transient {
					t.Errorf("errors %+v, want one (transient %v) saying %q", rep.Errors, tt.transient, tt.errText)
				}
			}
		})
	}
}
