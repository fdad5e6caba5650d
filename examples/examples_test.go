package examples

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
)

const (
	testRegistry = "registry.example.com/acme"
	testNS       = "security-gate-demo"
)

func digestOf(s string) string {
	var b strings.Builder
	for b.Len() < 64 {
		fmt.Fprintf(&b, "%x", s)
	}
	return "sha256:" + b.String()[:64]
}

// testVars gives every placeholder a value, as the demo does: a real public
// key, digests, the registry.
func testVars(t *testing.T) map[string]string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"REGISTRY":      testRegistry,
		"PUBLIC_KEY":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"SCAN_FINISHED": "2026-01-30T12:00:00Z",
	}
	for p := range Placeholders {
		if strings.HasPrefix(p, "DIGEST_") {
			vars[p] = digestOf(p)
		}
	}
	return vars
}

// exampleFiles lists every embedded file, so a new file is checked too.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// docs splits rendered YAML into documents (comments-only ones dropped).
func docs(t *testing.T, file string, b []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(d, &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(m) > 0 {
			out = append(out, d)
		}
	}
}

// tektonObject decodes a tekton.dev/v1 document strictly (an unknown or
// misspelt field fails), applies Tekton's defaults and runs Tekton's own
// Validate.
func tektonObject(t *testing.T, file string, d []byte) runtime.Object {
	t.Helper()
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(d, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if tm.APIVersion != "tekton.dev/v1" {
		t.Fatalf("%s: %s apiVersion %q, want tekton.dev/v1 (the only version served without Tekton's webhook)", file, tm.Kind, tm.APIVersion)
	}
	ctx := context.Background()
	var obj interface {
		runtime.Object
		SetDefaults(context.Context)
	}
	var validate func() *apis.FieldError
	switch tm.Kind {
	case "Task":
		o := &v1.Task{}
		obj, validate = o, func() *apis.FieldError { return o.Validate(ctx) }
	case "Pipeline":
		o := &v1.Pipeline{}
		obj, validate = o, func() *apis.FieldError { return o.Validate(ctx) }
	case "PipelineRun":
		o := &v1.PipelineRun{}
		obj, validate = o, func() *apis.FieldError { return o.Validate(ctx) }
	default:
		t.Fatalf("%s: unexpected kind %s", file, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(d, obj); err != nil {
		t.Fatalf("%s: %s: %v", file, tm.Kind, err)
	}
	obj.SetDefaults(ctx)
	if fe := validate(); fe != nil {
		t.Fatalf("%s: %s fails Tekton's validation: %v", file, tm.Kind, fe)
	}
	return obj
}

// TestRender: every placeholder of every file gets a value, and a missing
// value is an error naming the file, line and placeholder (never a file
// published with a placeholder in it).
func TestRender(t *testing.T) {
	vars := testVars(t)
	for _, f := range exampleFiles(t) {
		out, err := RenderFile(f, vars)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for n, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue // comments keep the placeholder names that explain them
			}
			for _, w := range placeholderRE.FindAllString(line, -1) {
				if _, known := Placeholders[w]; known {
					t.Errorf("%s:%d: placeholder %s left after rendering", f, n+1, w)
				}
			}
		}
	}
	delete(vars, "DIGEST_TASKS")
	_, err := RenderFile("pipeline.yaml", vars)
	if err == nil || !strings.Contains(err.Error(), "pipeline.yaml:") || !strings.Contains(err.Error(), "DIGEST_TASKS") {
		t.Fatalf("rendering pipeline.yaml without DIGEST_TASKS: err = %v, want one naming pipeline.yaml:LINE and DIGEST_TASKS", err)
	}
	// The key keeps its PEM lines, indented as the placeholder.
	key, err := RenderFile("clustersecuritygate.yaml", testVars(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(key), "\n        -----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("clustersecuritygate.yaml: PUBLIC_KEY not substituted as an indented block:\n%s", key)
	}
}

// TestFilesParseAndValidate: every document of every file is what its kind
// demands: Tekton objects pass Tekton's own validation, the policy passes
// ParsePolicy (strict decoding, defaults, Validate), the predicate is JSON.
func TestFilesParseAndValidate(t *testing.T) {
	vars := testVars(t)
	for _, f := range exampleFiles(t) {
		t.Run(f, func(t *testing.T) {
			out, err := RenderFile(f, vars)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, ".json") {
				var v map[string]any
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("%s: not JSON: %v", f, err)
				}
				return
			}
			ds := docs(t, f, out)
			if len(ds) == 0 {
				t.Fatalf("%s: no document", f)
			}
			for _, d := range ds {
				var tm struct {
					Kind string `json:"kind"`
				}
				if err := yaml.Unmarshal(d, &tm); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if tm.Kind == v1alpha1.KindClusterSecurityGate {
					p, err := v1alpha1.ParsePolicy(d)
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					if p.Kind != v1alpha1.KindClusterSecurityGate || p.ObjectMeta.Name != "demo" {
						t.Fatalf("%s: policy %s, want ClusterSecurityGate/demo (the Pipelines name it)", f, p)
					}
					continue
				}
				tektonObject(t, f, d)
			}
		})
	}
}

// bundles maps each bundle reference of the walk-through to the file that is
// published at it, as the demo does.
var bundles = map[string]string{
	"demo/tasks@DIGEST_TASKS":                     "tasks.yaml",
	"demo/pipeline@DIGEST_PIPELINE":               "pipeline.yaml",
	"demo/unsafe-tasks@DIGEST_UNSAFE_TASKS":       "noncompliant/tasks.yaml",
	"demo/unsafe-pipeline@DIGEST_UNSAFE_PIPELINE": "noncompliant/pipeline.yaml",
}

// bundleResolver serves the rendered bundles' objects by bundle digest,
// kind and name, standing in for Tekton's bundles resolver.
type bundleResolver map[string][]runtime.Object

func (r bundleResolver) Resolve(_ context.Context, ref gate.Ref) (*gate.Resolved, error) {
	for _, o := range r[ref.Bundle] {
		var kind, objName string
		switch x := o.(type) {
		case *v1.Task:
			kind, objName = gate.KindTask, x.Name
		case *v1.Pipeline:
			kind, objName = gate.KindPipeline, x.Name
		}
		if kind == ref.Kind && objName == ref.Name {
			return &gate.Resolved{Object: o.DeepCopyObject(), BundleDigest: ref.Bundle, Source: ref.Bundle}, nil
		}
	}
	return nil, fmt.Errorf("%s %s in bundle %q: %w", ref.Kind, ref.Name, ref.Bundle, gate.ErrNotFound)
}

// signedOnly is a fake registry verifier: an artifact verifies when the demo
// signs it, and is reported unsigned otherwise. It stands for the registry
// (the demo and the e2e suite verify real signatures); it lets this test
// check the rest of the engine on the examples exactly as written.
type signedOnly map[string]bool

func (s signedOnly) ResolveDigest(_ context.Context, ref string) (string, error) {
	if strings.Contains(ref, "@sha256:") {
		return ref, nil
	}
	repo, _, _ := strings.Cut(ref, ":latest")
	return repo + "@" + digestOf(ref), nil
}

func (s signedOnly) VerifyBundle(_ context.Context, d string) ([]gate.Finding, error) {
	if s[d] {
		return nil, nil
	}
	return []gate.Finding{{Check: gate.CheckBundleSignature, Subject: gate.ImageSubject(d), Severity: gate.SeverityViolation,
		Message: "no signature by team-key (fake registry)"}}, nil
}

func (s signedOnly) VerifyImage(_ context.Context, im gate.ImageTarget) (gate.ImageResult, error) {
	if s[im.Digest] {
		return gate.ImageResult{Verified: true}, nil
	}
	return gate.ImageResult{Findings: []gate.Finding{{Check: gate.CheckImageSignature, Subject: gate.ImageSubject(im.Ref),
		Severity: gate.SeverityViolation, Message: "no signature by team-key (fake registry)"}}}, nil
}

// TestExamplesAgainstTheGate runs the gate's engine with the example policy
// on the two PipelineRuns, resolving their bundles from the example files:
// the compliant one passes and verifies every image it runs; the
// non-compliant one fails for exactly the reasons its files state.
func TestExamplesAgainstTheGate(t *testing.T) {
	vars := testVars(t)
	render := func(f string) []byte {
		t.Helper()
		b, err := RenderFile(f, vars)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	policy, err := v1alpha1.ParsePolicy(render("clustersecuritygate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := bundleResolver{}
	for ref, f := range bundles {
		b, err := Render("bundle", []byte("REGISTRY/"+ref), vars)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs(t, f, render(f)) {
			res[string(b)] = append(res[string(b)], tektonObject(t, f, d))
		}
	}
	img := func(repo, digest string) string { return testRegistry + "/demo/" + repo + "@" + vars[digest] }
	signed := signedOnly{
		img("builder", "DIGEST_BUILDER"): true, img("deployer", "DIGEST_DEPLOYER"): true, img("app", "DIGEST_APP"): true,
		img("tasks", "DIGEST_TASKS"): true, img("pipeline", "DIGEST_PIPELINE"): true,
	}
	type finding struct{ check, subject string }
	for _, tc := range []struct {
		name, run, namespace string
		verdict              gate.Verdict
		// violations are (check, substring of subject); exactly these.
		violations   []finding
		wantVerified []string
	}{
		{
			name: "compliant", run: "pipelinerun.yaml", namespace: testNS, verdict: gate.VerdictPass,
			wantVerified: []string{img("app", "DIGEST_APP"), img("builder", "DIGEST_BUILDER"), img("deployer", "DIGEST_DEPLOYER")},
		},
		{
			name: "compliant in the default namespace", run: "pipelinerun.yaml", namespace: "default", verdict: gate.VerdictFail,
			violations: []finding{{gate.CheckNamespace, "default"}},
		},
		{
			name: "non-compliant", run: "noncompliant/pipelinerun.yaml", namespace: testNS, verdict: gate.VerdictFail,
			violations: []finding{
				{gate.CheckBundleSignature, "demo/unsafe-pipeline@"},
				{gate.CheckBundleSignature, "demo/unsafe-tasks@"},
				{gate.CheckImageDigest, "step=compile"},
				{gate.CheckImageSignature, "demo/unsigned:latest"},
				{gate.CheckSecurityContext, "step=compile"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := docs(t, tc.run, render(tc.run))
			pr := tektonObject(t, tc.run, ds[0]).(*v1.PipelineRun)
			pr.Namespace = tc.namespace
			// The controller passes the gate's `images` param as Tekton
			// substituted it into the CustomRun: here, the app-image param.
			var images []string
			for _, p := range pr.Spec.Params {
				if p.Name == "app-image" {
					images = append(images, p.Value.StringVal)
				}
			}
			if len(images) != 1 {
				t.Fatalf("%s: PipelineRun params %+v, want app-image", tc.run, pr.Spec.Params)
			}
			now := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
			rep := gate.New(gate.Options{Resolver: res, Verifier: signed, RequireGate: true, Now: func() time.Time { return now }}).
				Verify(context.Background(), &policy.Spec, gate.Input{Objects: []runtime.Object{pr}, Images: images})
			if len(rep.Errors) > 0 {
				t.Fatalf("verdict %s: could not decide: %+v", rep.Verdict, rep.Errors)
			}
			if rep.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s; violations: %+v; warnings: %+v", rep.Verdict, tc.verdict, rep.Violations, rep.Warnings)
			}
			// Every stated reason is found, and nothing else.
			matched := make([]bool, len(rep.Violations))
			for _, w := range tc.violations {
				ok := false
				for i, f := range rep.Violations {
					if f.Check == w.check && strings.Contains(f.Subject.String(), w.subject) {
						ok, matched[i] = true, true
					}
				}
				if !ok {
					t.Errorf("no %s violation on a subject containing %q; violations: %+v", w.check, w.subject, rep.Violations)
				}
			}
			for i, f := range rep.Violations {
				if !matched[i] {
					t.Errorf("unexpected violation %s on %s: %s", f.Check, f.Subject, f.Message)
				}
			}
			if tc.wantVerified != nil && !slices.Equal(rep.VerifiedImages, tc.wantVerified) {
				t.Errorf("verifiedImages = %v, want %v", rep.VerifiedImages, tc.wantVerified)
			}
			if rep.Summary.Tasks == 0 || rep.Summary.Steps == 0 {
				t.Errorf("summary %+v: the tasks behind the bundles were not inspected", rep.Summary)
			}
		})
	}
}
