//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	gatereport "github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

const openVEXType = "https://openvex.dev/ns"

// fullReport is the gate's whole report, from status.extraFields.
func fullReport(t *testing.T, cr *v1beta1.CustomRun) *gatereport.Report {
	t.Helper()
	var ef struct {
		Report *gatereport.Report `json:"report"`
	}
	if err := json.Unmarshal(cr.Status.ExtraFields.Raw, &ef); err != nil || ef.Report == nil {
		t.Fatalf("gate CustomRun %s/%s status.extraFields holds no report (%v): %s", cr.Namespace, cr.Name, err, cr.Status.ExtraFields.Raw)
	}
	return ef.Report
}

func noteSays(rep *gatereport.Report, check, subject, text string) bool {
	for _, n := range rep.Notes {
		if n.Check == check && (subject == "" || n.Subject.String() == subject) && strings.Contains(n.Message, text) {
			return true
		}
	}
	return false
}

// releasePipeline is a Pipeline named release whose gate (ClusterSecurityGate
// policyName) also verifies app, then build from taskBundle.
func releasePipeline(policyName, app, taskBundle string) string {
	return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: release
spec:
  tasks:
  - name: security-gate
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: %s}
    params:
    - name: images
      value: [%q]
  - name: build
    runAfter: [security-gate]
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: %s}
      - {name: name, value: build}
      - {name: kind, value: task}
`, policyName, app, taskBundle)
}

// enableSummaries stores a cosign key pair (encrypted) in a Secret of the
// controller's namespace and names it in config-security-gate; the test's
// end restores the config. It returns the public key.
func enableSummaries(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("e2e"), nil })
	if err != nil {
		t.Fatal(err)
	}
	secret := "e2e-vsa-key"
	if _, err := env.Kube.CoreV1().Secrets(framework.GateNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secret, Namespace: framework.GateNamespace},
		Data:       map[string][]byte{"cosign.key": kb.PrivateBytes, "cosign.password": []byte("e2e")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := env.Kube.CoreV1().ConfigMaps(framework.GateNamespace)
	if _, err := cms.Patch(ctx, "config-security-gate", types.MergePatchType, []byte(`{"data":{"vsa-signing-secret":"`+secret+`"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The Secret stays: a run decided before the controller sees the
		// restored config must still find its key.
		if _, err := cms.Patch(context.Background(), "config-security-gate", types.MergePatchType, []byte(`{"data":{"vsa-signing-secret":null}}`), metav1.PatchOptions{}); err != nil {
			t.Errorf("restoring config-security-gate: %v", err)
		}
	})
	return string(kb.PublicBytes)
}

// gatedRelease publishes a build task bundle with one signed step image and
// runs pipeline release (gated by policyName, verifying app) in a fresh
// namespace; it returns the decided gate CustomRun and the namespace.
func gatedRelease(t *testing.T, key *fixture.Signer, policyName string, app name.Digest, step name.Digest) (*v1beta1.CustomRun, string) {
	t.Helper()
	ns := env.Namespace(t)
	taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf([]stepImage{{d: step}}), key)
	pipelineBundle := pushSignedBundle(t, ns+"/pipeline-release", releasePipeline(policyName, app.String(), taskBundle), key)
	runPipelineBundle(t, ns, "release", pipelineBundle)
	return waitGateDone(t, ns, "release"), ns
}

// TestVEXAndVerificationSummaries runs both features through the
// controller: a Critical finding dropped by the vendor's signed OpenVEX
// attestation (noted in the report), the same VEX changing nothing for a
// policy that does not trust the vendor, a pass writing verification
// summaries with the key of config-security-gate, and a promotion gate
// accepting them instead of verifying unsigned-for-it images again, but
// not for a policy it does not list.
func TestVEXAndVerificationSummaries(t *testing.T) {
	requireGate(t)
	gatePub := enableSummaries(t)
	key, vendor, nobody := fixture.NewKey(t), fixture.NewKey(t), fixture.NewKey(t)
	ns0 := env.Namespace(t)
	step := pushImage(t, ns0+"/compiler", image{signer: key})
	app := pushImage(t, ns0+"/app", image{signer: key, critical: []string{"CVE-2026-4242"}})
	vendor.AttestClassic(t, app, openVEXType, []byte(fmt.Sprintf(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vendor.example/vex/1",
 "author": "Vendor PSIRT", "timestamp": %q, "version": 1,
 "statements": [{"vulnerability": {"name": "CVE-2026-4242"}, "products": [{"@id": %q}], "status": "not_affected", "justification": "vulnerable_code_not_present"}]}`,
		time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), app.DigestStr())))

	build := "e2e-build-" + ns0
	spec := strictPolicy(key)
	spec.Authorities = append(spec.Authorities, v1alpha1.Authority{Name: "vendor", Key: &v1alpha1.KeyAuthority{Data: vendor.PublicPEM}, IgnoreTlog: true})
	spec.Attestations[0].Vulnerabilities.VEX = &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}}
	createPolicy(t, "", build, spec)
	untrusting := "e2e-novex-" + ns0
	createPolicy(t, "", untrusting, strictPolicy(key))

	t.Run("VEX of a trusted vendor drops the Critical finding; the pass writes summaries", func(t *testing.T) {
		// The controller sees the new config-security-gate within moments;
		// a run decided before it wrote no summary, so run again until one
		// did (a condition, bounded).
		var cr *v1beta1.CustomRun
		var rep *gatereport.Report
		framework.Eventually(t, 3*time.Minute, "a pass that wrote verification summaries", func(context.Context) (bool, error) {
			cr, _ = gatedRelease(t, key, build, app, step)
			assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
			rep = fullReport(t, cr)
			return noteSays(rep, gatereport.CheckVerificationSummary, app.String(), "verification summary written"), nil
		})
		var vexNote *gatereport.VEXNote
		for _, n := range rep.Notes {
			if n.VEX != nil && n.VEX.Vulnerability == "CVE-2026-4242" {
				vexNote = n.VEX
			}
		}
		if vexNote == nil || vexNote.Status != "not_affected" || vexNote.Justification != "vulnerable_code_not_present" ||
			vexNote.Author != "Vendor PSIRT" || vexNote.Authority != "vendor" || !strings.HasPrefix(vexNote.Document, "sha256:") {
			t.Fatalf("no note of the dropped finding with its statement: %+v", rep.Notes)
		}
		for _, im := range []string{app.String(), step.String()} {
			if !noteSays(rep, gatereport.CheckVerificationSummary, im, "verification summary written") {
				t.Errorf("no summary written for verified image %s: %+v", im, rep.Notes)
			}
		}
	})

	t.Run("without trusting the vendor the finding fails the gate", func(t *testing.T) {
		cr, ns := gatedRelease(t, key, untrusting, app, step)
		assertGate(t, cr, corev1.ConditionFalse, "PolicyViolation", "fail")
		assertReportHas(t, cr, gatereport.CheckVulnerabilities)
		if rep := fullReport(t, cr); !noteSays(rep, gatereport.CheckVulnerabilities, app.String(), "VEX was present") {
			t.Errorf("no note of the VEX present but not trusted: %+v", rep.Notes)
		}
		assertNoTaskRuns(t, ns, "after the gate failed")
	})

	promotion := func(policies ...v1alpha1.SummaryPolicyRef) v1alpha1.SecurityGateSpec {
		return v1alpha1.SecurityGateSpec{
			Mode: v1alpha1.ModeEnforce,
			Authorities: []v1alpha1.Authority{
				{Name: "nobody", Key: &v1alpha1.KeyAuthority{Data: nobody.PublicPEM}, IgnoreTlog: true},
				{Name: "build-gate", Key: &v1alpha1.KeyAuthority{Data: gatePub}, IgnoreTlog: true},
			},
			Images: &v1alpha1.ImagePolicy{RequireDigest: true, Authorities: []string{"nobody"},
				AcceptSummaries: &v1alpha1.AcceptSummariesPolicy{Authorities: []string{"build-gate"}, MaxAge: "1h", Policies: policies}},
			SecurityContext: &v1alpha1.SecurityContextPolicy{Level: v1alpha1.LevelRestricted},
		}
	}
	t.Run("a promotion accepts the build gate's summaries", func(t *testing.T) {
		name := "e2e-promote-" + ns0
		createPolicy(t, "", name, promotion(v1alpha1.SummaryPolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: build}))
		cr, _ := gatedRelease(t, key, name, app, step)
		assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
		rep := fullReport(t, cr)
		for _, im := range []string{app.String(), step.String()} {
			if !noteSays(rep, gatereport.CheckVerificationSummary, im, "accepted the verification summary") {
				t.Errorf("image %s passed without a note of the summary accepted: %+v", im, rep.Notes)
			}
		}
	})
	t.Run("a promotion listing another policy verifies again, and fails", func(t *testing.T) {
		name := "e2e-promote-other-" + ns0
		createPolicy(t, "", name, promotion(v1alpha1.SummaryPolicyRef{Kind: v1alpha1.KindClusterSecurityGate, Name: "release"}))
		cr, _ := gatedRelease(t, key, name, app, step)
		assertGate(t, cr, corev1.ConditionFalse, "PolicyViolation", "fail")
		assertReportHas(t, cr, gatereport.CheckImageSignature)
		if rep := fullReport(t, cr); !noteSays(rep, gatereport.CheckVerificationSummary, "", "images.acceptSummaries.policies does not list") {
			t.Errorf("no note says why the summary was not accepted: %+v", rep.Notes)
		}
	})
}
