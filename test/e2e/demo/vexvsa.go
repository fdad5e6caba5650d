//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/examples"
	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/vsa"
	"github.com/security-gate/security-gate/test/e2e/framework"
)

// The demo's verification summaries: the gate signs one for every image of
// every pass with a key of its own, read from this Secret.
const (
	summarySecret = "gate-vsa-key"
	vexedCVE      = "CVE-2024-45337"
)

// summaries is what run 1 and run 3 check the summaries with.
var summaries struct {
	cosign  *cosignCLI // holds gate-vsa.pub
	rootDir string     // an empty trusted root: the key is the trust
}

// configureSummaries makes a key pair for the gate's summaries (as a user
// would: cosign generate-key-pair), stores it in a Secret in the
// controller's namespace and names it in config-security-gate. It runs
// before the controller starts, which then reads it with its first config.
func configureSummaries(ctx context.Context, env *framework.Env, cosignBin string) error {
	if cosignBin == "" {
		cosignBin = filepath.Join(env.BinDir, "cosign2")
	}
	dir := filepath.Join(env.Dir, "demo-gate-key")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	c := &cosignCLI{bin: cosignBin, dir: dir}
	if err := c.run(ctx, "generate-key-pair", "--output-key-prefix", "gate-vsa"); err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(dir, "gate-vsa.key"))
	if err != nil {
		return err
	}
	if _, err := env.Kube.CoreV1().Secrets(framework.GateNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: summarySecret, Namespace: framework.GateNamespace},
		Data:       map[string][]byte{"cosign.key": key, "cosign.password": {}},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Secret %s/%s: %w", framework.GateNamespace, summarySecret, err)
	}
	patch := fmt.Sprintf(`{"data":{"vsa-signing-secret":%q}}`, summarySecret)
	if _, err := env.Kube.CoreV1().ConfigMaps(framework.GateNamespace).Patch(ctx, "config-security-gate", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set vsa-signing-secret in config-security-gate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty-trusted-root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o600); err != nil {
		return err
	}
	summaries.cosign, summaries.rootDir = c, dir
	say("  verification summaries: key pair %s, Secret %s/%s, config-security-gate vsa-signing-secret: %s",
		filepath.Join(dir, "gate-vsa.pub"), framework.GateNamespace, summarySecret, summarySecret)
	return nil
}

// publishVEX publishes what run 3 needs: demo/app:vexed, signed, whose scan
// has a CRITICAL finding and which carries an OpenVEX statement signed by
// the team's key saying the vulnerable code is not on an execution path; a
// ClusterSecurityGate demo-vex (the demo policy trusting the team's VEX);
// and a pipeline bundle gated by it. It returns run 3's placeholders.
func publishVEX(ctx context.Context, env *framework.Env, cosign *cosignCLI, pub *published) (map[string]string, error) {
	ref, err := pushRandom(env, "demo/app:vexed")
	if err != nil {
		return nil, err
	}
	if err := cosign.sign(ctx, ref); err != nil {
		return nil, err
	}
	scan := filepath.Join(cosign.dir, "vuln-scan-critical.json")
	if err := os.WriteFile(scan, criticalScan(time.Now()), 0o600); err != nil {
		return nil, err
	}
	if err := cosign.attestVuln(ctx, ref, scan); err != nil {
		return nil, err
	}
	doc := filepath.Join(cosign.dir, "app.openvex.json")
	if err := os.WriteFile(doc, openVEX(ref, time.Now()), 0o600); err != nil {
		return nil, err
	}
	if err := cosign.run(ctx, "attest", "--key", "cosign.key", "--type", "openvex", "--predicate", doc, "--tlog-upload=false", "--yes", ref); err != nil {
		return nil, err
	}
	say("step 4' image %s signed; its scan finds %s (CRITICAL); an OpenVEX statement (cosign attest --type openvex) says not_affected", ref, vexedCVE)

	raw, err := examples.RenderFile("clustersecuritygate.yaml", pub.vars)
	if err != nil {
		return nil, err
	}
	var csg v1alpha1.ClusterSecurityGate
	if err := yaml.UnmarshalStrict(raw, &csg); err != nil {
		return nil, err
	}
	csg.Name = "demo-vex"
	for i := range csg.Spec.Attestations {
		if v := csg.Spec.Attestations[i].Vulnerabilities; v != nil {
			v.VEX = &v1alpha1.VEXPolicy{Authorities: []string{"team-key"}}
		}
	}
	out, err := yaml.Marshal(&csg)
	if err != nil {
		return nil, err
	}
	if err := env.ApplyYAML(ctx, string(out)); err != nil {
		return nil, fmt.Errorf("apply ClusterSecurityGate demo-vex: %w", err)
	}
	say("        ClusterSecurityGate demo-vex applied: the demo policy plus vulnerabilities.vex: {authorities: [team-key]}")

	p, err := examples.RenderFile("pipeline.yaml", pub.vars)
	if err != nil {
		return nil, err
	}
	gated := strings.Replace(string(p), "kind: ClusterSecurityGate\n      name: demo\n", "kind: ClusterSecurityGate\n      name: demo-vex\n", 1)
	if gated == string(p) {
		return nil, fmt.Errorf("examples/pipeline.yaml: the gate's taskRef no longer names ClusterSecurityGate demo")
	}
	bundle, err := env.Registry.PushBundle("demo/pipeline:vex", gated)
	if err != nil {
		return nil, err
	}
	if err := cosign.sign(ctx, bundle); err != nil {
		return nil, err
	}
	say("        bundle %s (examples/pipeline.yaml gated by demo-vex) pushed and signed", bundle)

	vars := map[string]string{}
	for k, v := range pub.vars {
		vars[k] = v
	}
	vars["DIGEST_PIPELINE"], vars["DIGEST_APP"] = digestOf(bundle), digestOf(ref)
	return vars, nil
}

// criticalScan is a cosign vuln predicate (Trivy) with one CRITICAL finding.
func criticalScan(finished time.Time) []byte {
	ts := finished.UTC().Format(time.RFC3339)
	return []byte(fmt.Sprintf(`{"invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
 "scanner": {"uri": "pkg:github/aquasecurity/trivy@v0.58.1", "version": "0.58.1", "db": {"uri": "", "version": ""},
  "result": {"SchemaVersion": 2, "CreatedAt": %[1]q, "ArtifactType": "container_image", "Results": [
   {"Target": "usr/local/bin/app", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": [
    {"VulnerabilityID": %[2]q, "PkgName": "golang.org/x/crypto", "PkgIdentifier": {"PURL": "pkg:golang/golang.org/x/crypto@v0.26.0"},
     "InstalledVersion": "v0.26.0", "FixedVersion": "0.31.0", "Status": "fixed", "Severity": "CRITICAL"}]}]}},
 "metadata": {"scanStartedOn": %[1]q, "scanFinishedOn": %[1]q}}`, ts, vexedCVE))
}

// openVEX is the team's statement about image ref.
func openVEX(ref string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://security-gate.example/vex/demo-app",
  "author": "Demo team <security@demo.example>",
  "timestamp": %q,
  "version": 1,
  "statements": [{
    "vulnerability": {"name": %q},
    "products": [{"@id": %q, "subcomponents": [{"@id": "pkg:golang/golang.org/x/crypto"}]}],
    "status": "not_affected",
    "justification": "vulnerable_code_not_in_execute_path",
    "impact_statement": "the app never calls ssh ServerConfig.PublicKeyCallback"
  }]
}`, at.UTC().Format(time.RFC3339), vexedCVE, digestOf(ref)))
}

// fullReport is the gate's whole report, from status.extraFields.
func (o *outcome) fullReport() *gate.Report {
	var ef struct {
		Report *gate.Report `json:"report"`
	}
	if err := json.Unmarshal(o.gate.Status.ExtraFields.Raw, &ef); err != nil {
		return nil
	}
	return ef.Report
}

// printNotes shows the report's notes: what changed no verdict but explains
// it (VEX, verification summaries).
func printNotes(o *outcome) {
	rep := o.fullReport()
	if rep == nil || len(rep.Notes) == 0 {
		return
	}
	say("          notes (they change no verdict):")
	for _, n := range rep.Notes {
		say("            NOTE      %-17s %s", n.Check, n.Subject)
		say("                                        %s", wrap(n.Message, "                                        "))
	}
}

// expectSummaries: a pass wrote a verification summary of every verified
// image, and cosign verify-attestation verifies the one of image with the
// gate's public key.
func expectSummaries(ctx context.Context, o *outcome, image string) []string {
	var p []string
	rep := o.fullReport()
	if rep == nil {
		return []string{"status.extraFields.report is missing or not JSON"}
	}
	for _, im := range o.verified() {
		found := false
		for _, n := range rep.Notes {
			found = found || (n.Check == gate.CheckVerificationSummary && n.Subject.String() == im && strings.Contains(n.Message, "verification summary written"))
		}
		if !found {
			p = append(p, fmt.Sprintf("no verification summary written for verified image %s", im))
		}
	}
	if summaries.cosign == nil || image == "" {
		return p
	}
	out, err := cosignOutput(ctx, summaries.cosign, "verify-attestation", "--key", "gate-vsa.pub", "--type", vsa.PredicateType,
		"--insecure-ignore-tlog", "--trusted-root", filepath.Join(summaries.rootDir, "empty-trusted-root.json"), image)
	if err != nil {
		return append(p, fmt.Sprintf("cosign verify-attestation of the summary of %s: %v", image, err))
	}
	pred, err := firstPredicate(out)
	if err != nil {
		return append(p, fmt.Sprintf("cosign verify-attestation of %s: %v", image, err))
	}
	say("  cosign verify-attestation --key gate-vsa.pub --type %s %s:", vsa.PredicateType, image)
	say("          verified; verifier %s, policy %s, timeVerified %s, verificationResult %s, %d input attestations",
		pred.Verifier.ID, pred.Policy.URI, pred.TimeVerified.Format(time.RFC3339), pred.VerificationResult, len(pred.InputAttestations))
	if pred.VerificationResult != vsa.ResultPassed || pred.ResourceURI != image {
		p = append(p, fmt.Sprintf("the summary of %s says %s about %s", image, pred.VerificationResult, pred.ResourceURI))
	}
	return p
}

// expectVEXNote: the report notes that a trusted VEX statement dropped id,
// with its status, justification, author and document.
func expectVEXNote(o *outcome, id string) []string {
	rep := o.fullReport()
	if rep == nil {
		return []string{"status.extraFields.report is missing or not JSON"}
	}
	for _, n := range rep.Notes {
		if v := n.VEX; v != nil && v.Vulnerability == id && v.Status == "not_affected" &&
			v.Justification != "" && v.Author != "" && strings.HasPrefix(v.Document, "sha256:") {
			return nil
		}
	}
	return []string{fmt.Sprintf("no note says a VEX statement dropped %s (notes: %d)", id, len(rep.Notes))}
}

func cosignOutput(ctx context.Context, c *cosignCLI, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "HOME="+c.dir, "TUF_ROOT="+filepath.Join(c.dir, "tuf"))
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return "", err
	}
	return string(out), nil
}

// firstPredicate decodes the VSA predicate of the first envelope cosign
// printed. test/interop's predicateOf decodes the same output on its own:
// this is a main package built only with the e2e tag, that a test built
// with the integration tag, so neither can import the other.
func firstPredicate(out string) (*vsa.Predicate, error) {
	for _, line := range strings.Split(out, "\n") {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(line), &env) != nil || env.Payload == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return nil, err
		}
		var st vsa.Statement
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, err
		}
		if st.Predicate.TimeVerified == nil {
			return nil, fmt.Errorf("the summary has no timeVerified")
		}
		return &st.Predicate, nil
	}
	return nil, fmt.Errorf("no attestation in cosign's output")
}

// vexRunVars are run 3's placeholders (publishVEX).
var vexRunVars map[string]string

// vexScenario is run 3: the compliant pipeline, gated by demo-vex, releasing
// an image whose scan has a CRITICAL finding the team's signed VEX statement
// says does not affect it.
func vexScenario() scenario {
	return scenario{
		title: "run 3: a Critical finding dropped by a signed VEX statement (examples/pipelinerun.yaml, gated by demo-vex)",
		file:  "pipelinerun.yaml",
		name:  "release-vex",
		vars:  func() map[string]string { return vexRunVars },
		check: func(o *outcome) []string {
			p := expectGate(o, corev1.ConditionTrue, "Passed", gate.VerdictPass)
			p = append(p, expectVEXNote(o, vexedCVE)...)
			app := imageOf(o.verified(), "/demo/app@")
			if app == "" || !strings.HasSuffix(app, vexRunVars["DIGEST_APP"]) {
				p = append(p, fmt.Sprintf("the gate's verified-images %v do not list the vexed app %s", o.verified(), vexRunVars["DIGEST_APP"]))
			}
			return append(p, expectSummaries(context.Background(), o, app)...)
		},
	}
}

// imageOf returns the first image containing part.
func imageOf(images []string, part string) string {
	for _, im := range images {
		if strings.Contains(im, part) {
			return im
		}
	}
	return ""
}
