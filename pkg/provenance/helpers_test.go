package provenance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/provenance"
	"github.com/security-gate/security-gate/pkg/verify"
	"github.com/security-gate/security-gate/test/fixture"
)

// world is a loopback registry with the bundles a build task may come from
// (one signed by the release key, one unsigned, one signed by another key)
// and the bundle verifier the engine would pass: our verifier with
// bundles.authorities [release].
type world struct {
	reg                       *fixture.Registry
	signed, unsigned, foreign name.Digest
	step                      name.Digest
	verify                    provenance.BundleVerifier
}

func newWorld(t *testing.T) *world {
	t.Helper()
	reg := fixture.NewRegistry(t, true)
	release, other := fixture.NewKey(t), fixture.NewKey(t)
	w := &world{reg: reg, step: fixture.PushRandomImage(t, reg.Repo("tools/builder:v1"))}
	task := fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build", w.step.String()))
	w.signed = fixture.PushBundle(t, reg.Repo("tasks/build:signed"), task)
	release.SignClassic(t, w.signed)
	w.unsigned = fixture.PushBundle(t, reg.Repo("tasks/build-unsigned:v1"), fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build", w.step.String(), w.step.String())))
	w.foreign = fixture.PushBundle(t, reg.Repo("tasks/build-foreign:v1"), fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build")))
	other.SignClassic(t, w.foreign)

	spec := &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: release.PublicPEM}, IgnoreTlog: true}},
		Bundles:     &v1alpha1.BundlePolicy{Authorities: []string{"release"}},
	}
	c, err := oci.New(oci.Options{Timeout: 5 * time.Second, Retries: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(spec, verify.Options{Client: c, Cache: verify.NewCache(16, time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w.verify = bundleVerifier(v)
	return w
}

// down makes the registry answer 503 to everything, after the verifier's
// retries: a bundle that cannot be verified now.
func (w *world) down() {
	w.reg.SetHook(func(rw http.ResponseWriter, _ *http.Request) bool {
		http.Error(rw, "down", http.StatusServiceUnavailable)
		return true
	})
}

// bundleVerifier is the engine's adapter from our verifier's bundle check:
// violations are reasons, an error or an undecided finding is an error.
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

// build describes a Chains-style statement; zero fields take the values of
// a good build.
type build struct {
	v02          bool
	subject      string // sha256 hex of the subject
	builder      string
	invocationID string // v1; "-" for none
	task         *dep   // the build task's source; nil: the good bundle
	noTask       bool
	images       []dep
	sources      []dep
}

type dep struct {
	uri    string
	digest map[string]string
}

const (
	appHex    = "1111111111111111111111111111111111111111111111111111111111111111"
	otherHex  = "2222222222222222222222222222222222222222222222222222222222222222"
	taskRunID = "6c1f0d7e-5a4b-4c3d-9e8f-0a1b2c3d4e5f"
	gitCommit = "0123456789abcdef0123456789abcdef01234567"
)

func (w *world) bundleDep(d name.Digest) *dep {
	return &dep{uri: d.Context().Name(), digest: map[string]string{"sha256": strings.TrimPrefix(d.DigestStr(), "sha256:")}}
}

func imageDep(d name.Digest) dep {
	return dep{uri: "oci://" + d.Context().Name(), digest: map[string]string{"sha256": strings.TrimPrefix(d.DigestStr(), "sha256:")}}
}

// statement writes b as Chains v0.26.2 does (slsa/v1 for v02, else
// slsa/v2alpha4), with the good build's values for what b leaves unset.
func (w *world) statement(t *testing.T, b build) []byte {
	t.Helper()
	if b.subject == "" {
		b.subject = appHex
	}
	if b.builder == "" {
		b.builder = "https://tekton.dev/chains/v2"
	}
	if b.invocationID == "" {
		b.invocationID = taskRunID
	}
	if b.task == nil && !b.noTask {
		b.task = w.bundleDep(w.signed)
	}
	if b.images == nil {
		b.images = []dep{imageDep(w.step)}
	}
	if b.sources == nil {
		b.sources = []dep{{uri: "git+https://github.com/acme/app.git", digest: map[string]string{"sha1": gitCommit}}}
	}
	subject := []any{map[string]any{"name": w.reg.Repo("app/release"), "digest": map[string]string{"sha256": b.subject}}}
	var st map[string]any
	if b.v02 {
		var mats []any
		for _, d := range append(append([]dep{}, b.images...), b.sources...) {
			mats = append(mats, map[string]any{"uri": d.uri, "digest": d.digest})
		}
		cs := map[string]any{}
		if b.task != nil {
			cs = map[string]any{"uri": b.task.uri, "digest": b.task.digest, "entryPoint": "build"}
		}
		st = map[string]any{
			"_type": provenance.StatementV01, "predicateType": provenance.PredicateSLSA02, "subject": subject,
			"predicate": map[string]any{
				"builder":    map[string]any{"id": b.builder},
				"buildType":  "tekton.dev/v1/TaskRun",
				"invocation": map[string]any{"configSource": cs, "parameters": map[string]any{}},
				"metadata":   map[string]any{"buildStartedOn": "2026-11-27T11:00:00Z", "buildFinishedOn": "2026-11-27T11:01:00Z"},
				"materials":  mats,
			},
		}
	} else {
		var deps []any
		if b.task != nil {
			deps = append(deps, map[string]any{"name": "task", "uri": b.task.uri, "digest": b.task.digest})
		}
		for _, d := range b.images {
			deps = append(deps, map[string]any{"uri": d.uri, "digest": d.digest})
		}
		for _, d := range b.sources {
			deps = append(deps, map[string]any{"name": "inputs/result", "uri": d.uri, "digest": d.digest})
		}
		md := map[string]any{"startedOn": "2026-11-27T11:00:00Z", "finishedOn": "2026-11-27T11:01:00Z"}
		if b.invocationID != "-" {
			md["invocationId"] = b.invocationID
		}
		st = map[string]any{
			"_type": provenance.StatementV1, "predicateType": provenance.PredicateSLSA1, "subject": subject,
			"predicate": map[string]any{
				"buildDefinition": map[string]any{"buildType": "https://tekton.dev/chains/v2/slsa", "resolvedDependencies": deps,
					"externalParameters": map[string]any{"runSpec": map[string]any{}}},
				"runDetails": map[string]any{"builder": map[string]any{"id": b.builder}, "metadata": md},
			},
		}
	}
	out, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) parsed(t *testing.T, b build) *provenance.Statement {
	t.Helper()
	st, err := provenance.ParseStatement(w.statement(t, b))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func thisRun() *provenance.TaskRun {
	return &provenance.TaskRun{Namespace: "ci", Name: "release-42-build", UID: taskRunID}
}

func target(run *provenance.TaskRun) provenance.Target {
	return provenance.Target{Artifact: "registry.example.com/app@sha256:" + appHex, Digest: "sha256:" + appHex, TaskRun: run}
}

func policy(mut ...func(*v1alpha1.ProvenancePolicy)) *v1alpha1.ProvenancePolicy {
	p := &v1alpha1.ProvenancePolicy{BuilderIDs: []string{"https://tekton.dev/chains/v2"}}
	for _, m := range mut {
		m(p)
	}
	spec := &v1alpha1.SecurityGateSpec{Provenance: p}
	spec.SetDefaults(context.Background())
	return spec.Provenance
}

func rules(t *testing.T, p *v1alpha1.ProvenancePolicy) *provenance.Rules {
	t.Helper()
	r, err := provenance.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rulesOf(fs []provenance.Finding) []provenance.Rule {
	var out []provenance.Rule
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}
