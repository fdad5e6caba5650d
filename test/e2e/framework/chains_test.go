//go:build e2e

package framework

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/provenance"
	"github.com/security-gate/security-gate/pkg/verify"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestChainsAttestsACompletedBuild runs Tekton Chains against a real Tekton
// and registry: a TaskRun from a signed bundle is completed with image and
// git results (CompleteBuildPod), Chains signs the image and attests it in
// each SLSA format, the signature and the attestation verify against
// Chains' key with cosign and with our verifier, and the provenance, read
// by pkg/provenance, meets the policy's rules for exactly this TaskRun and
// fails them for another one, another builder, an unsigned bundle or
// another source.
//
// With CHAINS_TESTDATA=DIR it writes each verified statement and the facts
// of its build to DIR (how pkg/provenance/testdata was made).
func TestChainsAttestsACompletedBuild(t *testing.T) {
	ctx := context.Background()
	e, err := Start(ctx, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		t.Logf("memory:\n%s", e.MemoryReport())
		e.Stop()
	}()
	for _, step := range []func(context.Context) error{e.InstallTekton, e.StartTekton, func(context.Context) error { return e.StartRegistry() }, e.InstallChains} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ns := e.Namespace(t)
	reg := e.Registry.Host

	// What the build uses and makes: a step image, the Task in a bundle
	// signed by the release key, and the image it "built".
	release := fixture.NewKey(t)
	builder := fixture.PushRandomImage(t, reg+"/tools/builder:v1")
	bundleRef, err := e.Registry.PushBundle("tasks/build:v1", buildTaskYAML(builder.String()))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := name.NewDigest(bundleRef)
	if err != nil {
		t.Fatal(err)
	}
	release.SignClassic(t, bundle)
	const gitURL, gitCommit = "https://github.com/acme/app", "0123456789abcdef0123456789abcdef01234567"

	for i, format := range []string{ChainsFormatSLSAv1, ChainsFormatSLSAv2Alpha3, ChainsFormatSLSAv2Alpha4} {
		t.Run(strings.ReplaceAll(format, "/", "-"), func(t *testing.T) {
			chains, err := e.StartChains(ctx, ChainsOptions{Format: format, Namespaces: []string{ns}})
			if err != nil {
				t.Fatal(err)
			}
			defer chains.Stop(10 * time.Second)

			img, err := random.Image(512, 1)
			if err != nil {
				t.Fatal(err)
			}
			appRef, err := e.Registry.PushImage(fmt.Sprintf("app/release:%d", i), img)
			if err != nil {
				t.Fatal(err)
			}
			app, err := name.NewDigest(appRef)
			if err != nil {
				t.Fatal(err)
			}
			trName := fmt.Sprintf("build-%d", i)
			if err := e.ApplyYAML(ctx, buildTaskRunYAML(ns, trName, bundleRef)); err != nil {
				t.Fatal(err)
			}
			if err := e.CompleteBuildPod(ctx, ns, trName, BuildPod{
				Now: time.Now(),
				Results: []TaskResult{
					{Name: "IMAGE_URL", Value: app.Context().Name()},
					{Name: "IMAGE_DIGEST", Value: app.DigestStr()},
					{Name: "CHAINS-GIT_URL", Value: gitURL},
					{Name: "CHAINS-GIT_COMMIT", Value: gitCommit},
				},
			}, time.Minute); err != nil {
				t.Fatal(err)
			}
			tr, err := e.WaitTaskRunDone(ctx, ns, trName, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if c := tr.Status.GetCondition("Succeeded"); c == nil || !c.IsTrue() {
				t.Fatalf("TaskRun %s not succeeded: %+v", trName, tr.Status.Conditions)
			}
			if got := len(tr.Status.Results); got != 4 {
				t.Errorf("TaskRun %s has %d results, want the 4 the Pod reported: %+v", trName, got, tr.Status.Results)
			}
			if id := tr.Status.Steps[0].ImageID; id != builder.String() {
				t.Errorf("step imageID %q, want %q", id, builder)
			}
			verdict, err := e.ChainsVerdict(ctx, ns, trName, time.Minute)
			if err != nil {
				t.Fatalf("%v\n--- chains log\n%s", err, chains.LogTail(30))
			}
			if verdict != "true" {
				t.Fatalf("Chains marked TaskRun %s %q\n--- chains log\n%s", trName, verdict, chains.LogTail(30))
			}

			// Chains' signature and attestation, with cosign's own verification.
			statements := verifiedStatements(ctx, t, app, chains.PublicKeyPEM)
			if len(statements) != 1 {
				t.Fatalf("%d verified attestations on %s, want 1", len(statements), app)
			}
			st, err := provenance.ParseStatement(statements[0])
			if err != nil {
				t.Fatalf("pkg/provenance cannot read what Chains wrote: %v\n%s", err, statements[0])
			}
			wantType := provenance.PredicateSLSA1
			if format == ChainsFormatSLSAv1 {
				wantType = provenance.PredicateSLSA02
			}
			if st.PredicateType != wantType {
				t.Fatalf("format %s wrote predicateType %s, want %s", format, st.PredicateType, wantType)
			}
			if dir := os.Getenv("CHAINS_TESTDATA"); dir != "" {
				writeChainsTestdata(t, dir, format, statements[0], tr.Namespace, tr.Name, string(tr.UID), bundleRef, builder.String(), app.String())
			}

			// Our verifier accepts the signature and the provenance.
			policy := chainsPolicy(t, chains.PublicKeyPEM, release.PublicPEM, wantType)
			v, err := verify.New(&policy.Spec, verify.Options{Timeout: 30 * time.Second, Cache: verify.NewCache(16, time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.VerifyImage(ctx, gate.ImageTarget{Ref: app.String(), Digest: app.String()})
			if err != nil || !res.Verified {
				t.Fatalf("our verifier on Chains' output: verified %v, err %v, findings %+v", res.Verified, err, res.Findings)
			}

			judgeChainsProvenance(ctx, t, st, chainsTarget(app, tr.Namespace, tr.Name, string(tr.UID)), format, v)
		})
	}
}

// judgeChainsProvenance applies pkg/provenance's rules to what Chains wrote:
// they pass for the TaskRun that built it and fail, naming the rule, for
// every way the provenance can be wrong.
func judgeChainsProvenance(ctx context.Context, t *testing.T, st *provenance.Statement, target provenance.Target, format string, v *verify.Verifier) {
	trusted := bundleVerifier(v)
	other := fixture.NewKey(t)
	untrustedPolicy := chainsPolicy(t, other.PublicPEM, other.PublicPEM, st.PredicateType)
	uv, err := verify.New(&untrustedPolicy.Spec, verify.Options{Timeout: 30 * time.Second, Cache: verify.NewCache(16, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	v1Format := format != ChainsFormatSLSAv1
	anotherRun := target
	anotherRun.TaskRun = &provenance.TaskRun{Namespace: target.TaskRun.Namespace, Name: "build-elsewhere", UID: "4b0f6c2e-0000-4000-8000-000000000000"}

	tests := []struct {
		name   string
		policy v1alpha1.ProvenancePolicy
		target provenance.Target
		verify provenance.BundleVerifier
		want   provenance.Rule // empty: passes
	}{
		{"every rule, this TaskRun", strict(), target, trusted, bindingRuleFor(v1Format)},
		{"binding off", with(strict(), func(p *v1alpha1.ProvenancePolicy) { p.RunBinding = v1alpha1.ProvenanceOff }), target, trusted, ""},
		{"another TaskRun", strict(), anotherRun, trusted, provenance.RuleRunBinding},
		{"builder not accepted", with(strict(), func(p *v1alpha1.ProvenancePolicy) { p.BuilderIDs = []string{"https://builder.example.com"} }), target, trusted, provenance.RuleBuilder},
		{"bundle signed by another key", with(strict(), func(p *v1alpha1.ProvenancePolicy) { p.RunBinding = v1alpha1.ProvenanceOff }), target, bundleVerifier(uv), provenance.RuleTrustedCode},
		{"source matches", with(strict(), func(p *v1alpha1.ProvenancePolicy) {
			p.RunBinding = v1alpha1.ProvenanceOff
			p.Source = &v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app.git", RevisionRegExp: "[0-9a-f]{40}"}
		}), target, trusted, ""},
		{"another source repository", with(strict(), func(p *v1alpha1.ProvenancePolicy) {
			p.RunBinding = v1alpha1.ProvenanceOff
			p.Source = &v1alpha1.ProvenanceSourcePolicy{RepositoryRegExp: `https://github\.com/acme/(lib|tools)`}
		}), target, trusted, provenance.RuleSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := provenance.Compile(&tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			res := rules.Judge(ctx, []*provenance.Statement{st}, tt.target, tt.verify)
			if len(res.Undecided) > 0 {
				t.Fatalf("undecided: %+v", res.Undecided)
			}
			switch {
			case tt.want == "" && !res.Passed():
				t.Errorf("want a pass, got %+v", res.Violations)
			case tt.want != "" && !hasRule(res.Violations, tt.want):
				t.Errorf("want a %s violation, got %+v", tt.want, res.Violations)
			}
			for _, f := range res.Violations {
				t.Logf("%s: %s", f.Rule, f.Message)
			}
		})
	}
}

// bindingRuleFor is what "every rule, this TaskRun" gives: SLSA v1 binds
// (a pass), SLSA v0.2 cannot (a run-binding violation naming the format).
func bindingRuleFor(v1Format bool) provenance.Rule {
	if v1Format {
		return ""
	}
	return provenance.RuleRunBinding
}

func strict() v1alpha1.ProvenancePolicy {
	return v1alpha1.ProvenancePolicy{BuilderIDs: []string{"https://tekton.dev/chains/v2"}}
}

func with(p v1alpha1.ProvenancePolicy, f func(*v1alpha1.ProvenancePolicy)) v1alpha1.ProvenancePolicy {
	f(&p)
	return p
}

func hasRule(fs []provenance.Finding, r provenance.Rule) bool {
	for _, f := range fs {
		if f.Rule == r {
			return true
		}
	}
	return false
}

func chainsTarget(app name.Digest, ns, tr, uid string) provenance.Target {
	return provenance.Target{Artifact: app.String(), Digest: app.DigestStr(),
		TaskRun: &provenance.TaskRun{Namespace: ns, Name: tr, UID: uid}}
}

// bundleVerifier adapts our verifier's bundle check to pkg/provenance, as
// the engine does: violations are why the bundle is not trusted, an error
// or an undecided finding is "could not decide".
func bundleVerifier(v *verify.Verifier) provenance.BundleVerifier {
	return func(ctx context.Context, ref string) ([]string, error) {
		fs, err := v.VerifyBundle(ctx, ref)
		if err != nil {
			return nil, err
		}
		var problems []string
		for _, f := range fs {
			switch f.Severity {
			case gate.SeverityError:
				return nil, fmt.Errorf("%s", f.Message)
			case gate.SeverityViolation:
				problems = append(problems, f.Message)
			}
		}
		return problems, nil
	}
}

// chainsPolicy trusts Chains' key for images and provenance of
// predicateType, and release for bundles.
func chainsPolicy(t *testing.T, chainsPub, releasePub, predicateType string) *v1alpha1.Policy {
	t.Helper()
	typ := v1alpha1.AttestationTypeSLSAProvenance1
	if predicateType == provenance.PredicateSLSA02 {
		typ = v1alpha1.AttestationTypeSLSAProvenance
	}
	doc := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: release}
spec:
  authorities:
  - name: chains
    key: {data: %q}
    ignoreTlog: true
  - name: release
    key: {data: %q}
    ignoreTlog: true
  bundles: {authorities: [release]}
  images: {authorities: [chains]}
  attestations: [{name: provenance, type: %s}]
`, chainsPub, releasePub, typ)
	p, err := v1alpha1.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verifiedStatements checks Chains' image signature and returns the in-toto
// statements of the attestations that verify against its key, with
// cosign's own verification (no tlog: transparency is off in chains-config).
func verifiedStatements(ctx context.Context, t *testing.T, app name.Digest, pubPEM string) [][]byte {
	t.Helper()
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	co := &cosign.CheckOpts{SigVerifier: sv, IgnoreTlog: true, ClaimVerifier: cosign.SimpleClaimVerifier}
	if _, _, err := cosign.VerifyImageSignatures(ctx, app, co); err != nil {
		t.Fatalf("Chains' image signature on %s: %v", app, err)
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, app, co)
	if err != nil {
		t.Fatalf("Chains' attestation on %s: %v", app, err)
	}
	var out [][]byte
	for _, a := range atts {
		env, err := a.Payload()
		if err != nil {
			t.Fatal(err)
		}
		var dsse struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
		}
		if err := json.Unmarshal(env, &dsse); err != nil {
			t.Fatal(err)
		}
		st, err := base64.StdEncoding.DecodeString(dsse.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

func buildTaskYAML(stepImage string) string {
	return `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build}
spec:
  results:
  - {name: IMAGE_URL}
  - {name: IMAGE_DIGEST}
  - {name: CHAINS-GIT_URL}
  - {name: CHAINS-GIT_COMMIT}
  steps:
  - name: build
    image: ` + stepImage + `
    command: ["/ko-app/build"]
`
}

func buildTaskRunYAML(ns, name, bundle string) string {
	return `apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: ` + name + `, namespace: ` + ns + `}
spec:
  taskRef:
    resolver: bundles
    params:
    - {name: bundle, value: "` + bundle + `"}
    - {name: name, value: build}
    - {name: kind, value: task}
`
}

// chainsFacts is what pkg/provenance's tests check a recorded statement
// against: the build Chains attested.
type chainsFacts struct {
	ChainsVersion string `json:"chainsVersion"`
	Format        string `json:"format"`
	Namespace     string `json:"namespace"`
	TaskRun       string `json:"taskRun"`
	UID           string `json:"uid"`
	Bundle        string `json:"bundle"`
	StepImage     string `json:"stepImage"`
	Image         string `json:"image"`
}

func writeChainsTestdata(t *testing.T, dir, format string, statement []byte, ns, tr, uid, bundle, step, image string) {
	t.Helper()
	base := filepath.Join(dir, "chains-"+strings.ReplaceAll(format, "/", "-"))
	facts, err := json.MarshalIndent(chainsFacts{"v0.26.2", format, ns, tr, uid, bundle, step, image}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".facts.json", append(facts, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".statement.json", statement, 0o644); err != nil {
		t.Fatal(err)
	}
}
