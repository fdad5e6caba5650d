package provenance_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/provenance"
)

// chainsFacts describe the build behind each testdata statement: what Tekton
// Chains v0.26.2 attested, recorded by the e2e test
// TestChainsAttestsACompletedBuild (test/e2e/framework) with CHAINS_TESTDATA.
type chainsFacts struct {
	Format    string `json:"format"`
	Namespace string `json:"namespace"`
	TaskRun   string `json:"taskRun"`
	UID       string `json:"uid"`
	Bundle    string `json:"bundle"`
	StepImage string `json:"stepImage"`
	Image     string `json:"image"`
}

// TestParseWhatChainsWrote reads the provenance a real Chains wrote in each
// of its SLSA formats and finds in it the build it describes.
func TestParseWhatChainsWrote(t *testing.T) {
	for _, format := range []string{"slsa-v1", "slsa-v2alpha3", "slsa-v2alpha4"} {
		t.Run(format, func(t *testing.T) {
			facts, st := chainsTestdata(t, format)
			p := st.Provenance
			wantType, wantStatement := provenance.PredicateSLSA1, provenance.StatementV1
			if format == "slsa-v1" {
				wantType, wantStatement = provenance.PredicateSLSA02, provenance.StatementV01
			}
			if st.PredicateType != wantType || p.PredicateType != wantType || st.Type != wantStatement {
				t.Errorf("types %s / %s / %s, want %s in %s", st.Type, st.PredicateType, p.PredicateType, wantType, wantStatement)
			}
			if p.BuilderID != "https://tekton.dev/chains/v2" {
				t.Errorf("builder %q", p.BuilderID)
			}
			image, bundle, step := mustDigest(t, facts.Image), mustDigest(t, facts.Bundle), mustDigest(t, facts.StepImage)
			if !st.HasDigest(hexOf(image)) || st.HasDigest(hexOf(bundle)) {
				t.Errorf("subjects %s, want exactly %s", st.SubjectDigests(), image)
			}
			if p.IsV1() && p.InvocationID != facts.UID {
				t.Errorf("invocationId %q, want the TaskRun's uid %s", p.InvocationID, facts.UID)
			}
			if !p.IsV1() && p.InvocationID != "" {
				t.Errorf("SLSA v0.2 has no invocationId, got %q", p.InvocationID)
			}
			if p.FinishedOn.IsZero() || p.StartedOn.IsZero() {
				t.Errorf("build times not read: %v %v", p.StartedOn, p.FinishedOn)
			}
			wantDeps := []provenance.Dependency{
				{Kind: provenance.KindDefinition, URI: bundle.Context().Name(), Digest: map[string]string{"sha256": hexOf(bundle)}},
				{Kind: provenance.KindImage, URI: "oci://" + step.Context().Name(), Digest: map[string]string{"sha256": hexOf(step)}},
				{Kind: provenance.KindSource, URI: "git+https://github.com/acme/app.git", Digest: map[string]string{"sha1": "0123456789abcdef0123456789abcdef01234567"}},
			}
			if p.IsV1() {
				wantDeps[0].Name, wantDeps[2].Name = "task", "inputs/result"
			} else {
				wantDeps[0].EntryPoint = "build"
			}
			if len(p.Dependencies) != len(wantDeps) {
				t.Fatalf("dependencies %+v, want %+v", p.Dependencies, wantDeps)
			}
			for i := range wantDeps {
				got, want := p.Dependencies[i], wantDeps[i]
				if got.Kind != want.Kind || got.Name != want.Name || got.URI != want.URI || got.EntryPoint != want.EntryPoint || !mapsEqual(got.Digest, want.Digest) {
					t.Errorf("dependency %d: %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

// TestRulesOnWhatChainsWrote: the v1 formats bind to their TaskRun and to no
// other; the v0.2 format cannot be bound and says which format to use.
// Bundle signatures are covered in TestRules and the e2e test (this
// testdata's registry is gone), so trusted code is off here.
func TestRulesOnWhatChainsWrote(t *testing.T) {
	p := policy(func(p *v1alpha1.ProvenancePolicy) {
		p.TrustedCode = v1alpha1.ProvenanceOff
		p.Source = &v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app", RevisionRegExp: "[0-9a-f]{40}"}
	})
	r := rules(t, p)
	for _, format := range []string{"slsa-v1", "slsa-v2alpha3", "slsa-v2alpha4"} {
		t.Run(format, func(t *testing.T) {
			facts, st := chainsTestdata(t, format)
			image := mustDigest(t, facts.Image)
			own := provenance.Target{Artifact: facts.Image, Digest: image.DigestStr(),
				TaskRun: &provenance.TaskRun{Namespace: facts.Namespace, Name: facts.TaskRun, UID: facts.UID}}
			other := own
			other.TaskRun = &provenance.TaskRun{Namespace: facts.Namespace, Name: "build-elsewhere", UID: "0d9e8f7a-0000-4000-8000-000000000001"}

			res := r.Evaluate(context.Background(), st, own, nil)
			if format == "slsa-v1" {
				if got := rulesOf(res.Violations); !slices.Equal(got, []provenance.Rule{provenance.RuleRunBinding}) ||
					!strings.Contains(res.Violations[0].Message, "slsa/v2alpha4") {
					t.Fatalf("v0.2 bound to its TaskRun: want one run-binding violation naming slsa/v2alpha4, got %+v", res.Violations)
				}
				return
			}
			if !res.Passed() {
				t.Fatalf("bound to its own TaskRun: %+v %+v", res.Violations, res.Undecided)
			}
			res = r.Evaluate(context.Background(), st, other, nil)
			if got := rulesOf(res.Violations); !slices.Equal(got, []provenance.Rule{provenance.RuleRunBinding}) ||
				!strings.Contains(res.Violations[0].Message, facts.UID) {
				t.Fatalf("another TaskRun: want a run-binding violation naming uid %s, got %+v", facts.UID, res.Violations)
			}
		})
	}
}

func chainsTestdata(t *testing.T, format string) (chainsFacts, *provenance.Statement) {
	t.Helper()
	var facts chainsFacts
	b, err := os.ReadFile(filepath.Join("testdata", "chains-"+format+".facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &facts); err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join("testdata", "chains-"+format+".statement.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := provenance.ParseStatement(payload)
	if err != nil {
		t.Fatalf("what Chains wrote (%s) does not parse: %v", format, err)
	}
	return facts, st
}

func mustDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hexOf(d name.Digest) string { return strings.TrimPrefix(d.DigestStr(), "sha256:") }

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
