//go:build e2e

package e2e

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/test/fixture"
)

// Keyless signing as people do it today: bundles, images and scans signed
// with short-lived certificates whose signatures carry transparency-log
// entries and timestamps, in both cosign layouts. The controller reads the
// trusted root through TUF from a repository served on loopback (shared by
// all its runs), and decides; a repository it cannot trust is "could not
// decide".
func TestKeylessThroughTUF(t *testing.T) {
	requireGate(t)
	ca := fixture.NewCA(t)
	repo := fixture.NewTUFRepo(t, time.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(ca.TrustedRootJSON)})
	const issuer, identity = "https://token.actions.example.com", "release@example.com"

	for _, tc := range []struct {
		name        string
		signer      func(t *testing.T) *fixture.Signer
		expired     bool // the TUF repository's timestamp metadata has expired
		wantStatus  corev1.ConditionStatus
		wantReason  string
		wantVerdict string
	}{
		{name: "signed-by-the-identity", signer: func(t *testing.T) *fixture.Signer { return ca.Signer(t, identity, issuer) },
			wantStatus: corev1.ConditionTrue, wantReason: "Passed", wantVerdict: "pass"},
		{name: "signed-by-another-identity", signer: func(t *testing.T) *fixture.Signer { return ca.Signer(t, "intern@example.com", issuer) },
			wantStatus: corev1.ConditionFalse, wantReason: "PolicyViolation", wantVerdict: "fail"},
		{name: "expired-tuf-metadata", expired: true, signer: func(t *testing.T) *fixture.Signer { return ca.Signer(t, identity, issuer) },
			wantStatus: corev1.ConditionFalse, wantReason: "VerificationError", wantVerdict: "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			signer := tc.signer(t)
			classic := pushImage(t, ns+"/compiler", image{signer: signer})
			bundled := pushImage(t, ns+"/tester", image{})
			signer.SignBundle(t, bundled)
			signer.AttestBundle(t, bundled, cosignVuln, vulnPredicate(t, time.Now()))
			taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf([]stepImage{{d: classic}, {d: bundled}}), signer)
			pipelineBundle := pushSignedBundle(t, ns+"/pipeline-release",
				gatedPipeline(v1alpha1.KindClusterSecurityGate, "keyless-"+ns, taskBundle), signer)

			// Each case its own repository state: the expired one is a
			// repository of its own, so the other cases' root is not it.
			source := repo
			if tc.expired {
				source = fixture.NewTUFRepo(t, time.Now, map[string][]byte{trustroot.TrustedRootTarget: []byte(ca.TrustedRootJSON)})
				source.ExpireTimestamp(t, time.Now().Add(-time.Minute))
			}
			spec := strictPolicy(signer)
			spec.Authorities = []v1alpha1.Authority{{Name: "team", IgnoreSCT: true, Keyless: &v1alpha1.KeylessAuthority{
				Issuer: issuer, Subject: identity,
				TUF: &v1alpha1.TUFRepository{Mirror: source.URL, Root: string(source.InitialRoot())},
			}}}
			createPolicy(t, "", "keyless-"+ns, spec)
			runPipelineBundle(t, ns, "release", pipelineBundle)

			cr := waitGateDone(t, ns, "release")
			assertGate(t, cr, tc.wantStatus, tc.wantReason, tc.wantVerdict)
			if tc.wantStatus == corev1.ConditionTrue {
				waitTaskRun(t, ns, "build")
			} else {
				assertNoTaskRuns(t, ns, "after the gate failed")
			}
		})
	}
}
