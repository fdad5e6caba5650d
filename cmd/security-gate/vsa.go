package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	secoci "github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/version"
	"github.com/security-gate/security-gate/pkg/vsa"
)

// vsaOptions are --vsa-key and --vsa-layout.
type vsaOptions struct {
	key, layout string
	// set: --vsa-key was given (also empty, which is a usage error).
	set bool
}

// addFlags registers the flags on fs.
func (o *vsaOptions) addFlags(fs *flag.FlagSet) {
	fs.Func("vsa-key", "", func(v string) error { o.key, o.set = v, true; return nil })
	fs.StringVar(&o.layout, "vsa-layout", "both", "")
}

// writer loads the key and returns the summary writer, or nil without
// --vsa-key; each of its registry requests gets the budget timeout. Its
// errors are usage errors: they are found before anything is verified.
func (o *vsaOptions) writer(timeout time.Duration) (*vsa.Writer, error) {
	if !o.set {
		if o.layout != "both" {
			return nil, usagef("--vsa-layout applies only with --vsa-key")
		}
		return nil, nil
	}
	if o.key == "" {
		return nil, usagef("--vsa-key is empty: give the cosign private key that signs verification summaries")
	}
	layouts, err := vsa.ParseLayouts(o.layout)
	if err != nil {
		return nil, usagef("--vsa-layout: %v", err)
	}
	pem, err := os.ReadFile(o.key)
	if err != nil {
		return nil, usagef("--vsa-key: %v", err)
	}
	s, err := vsa.LoadSigner(pem, []byte(os.Getenv("COSIGN_PASSWORD")))
	if err != nil {
		return nil, usagef("--vsa-key %s: %v", o.key, err)
	}
	return &vsa.Writer{Signer: s, Layouts: layouts, Options: func(ctx context.Context) []remote.Option {
		return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
			remote.WithTransport(secoci.Transport(secoci.Options{Timeout: timeout}))}
	}, Now: func() time.Time { return time.Now() }}, nil
}

// summarize writes the verification summaries of a pass (--vsa-key) and
// records them in report: notes for what was written, an error (exit 2)
// for what could not be.
func summarize(ctx context.Context, w *vsa.Writer, policy *v1alpha1.Policy, report *gate.Report, now func() time.Time) {
	if w == nil || report == nil {
		return
	}
	if v := gate.Decide(report); v != gate.VerdictPass && v != gate.VerdictWarn {
		return
	}
	if policy.ObjectMeta.Name == "" {
		report.Errors = append(report.Errors, gate.Finding{Check: gate.CheckVerificationSummary, Subject: gate.TextSubject(policy.Kind), Severity: gate.SeverityError,
			Message: "could not decide: --vsa-key needs the policy's metadata.name, which a verification summary records"})
		report.Verdict = gate.Decide(report)
		return
	}
	digest, err := vsa.SpecDigest(&policy.Spec)
	if err != nil {
		report.Errors = append(report.Errors, gate.Finding{Check: gate.CheckVerificationSummary, Subject: gate.TextSubject(policy.String()), Severity: gate.SeverityError,
			Message: fmt.Sprintf("could not decide: hashing the policy for its verification summary: %v", err)})
		report.Verdict = gate.Decide(report)
		return
	}
	w.Now = now
	vsa.Summarize(ctx, w, report, vsa.Pass{
		Policy:     vsa.PolicyRef{Kind: policy.Kind, Namespace: policy.ObjectMeta.Namespace, Name: policy.ObjectMeta.Name, Digest: digest},
		Mode:       policy.Spec.Mode,
		VerifierID: vsa.DefaultVerifierID,
		Version:    version.String(),
		Now:        now(),
	})
}
