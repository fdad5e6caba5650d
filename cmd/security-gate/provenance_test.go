package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	fakepipeline "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	fakeresolution "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned/fake"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	ktesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/test/fixture"
)

const buildUID = "6c1f0d7e-5a4b-4c3d-9e8f-0a1b2c3d4e5f"

// releaseWorld is a loopback registry holding what a release gate judges:
// an app image signed by Chains' key with Chains-style provenance for the
// TaskRun buildUID, the build task's bundle signed by the release key, and
// a step image signed by Chains' key; and the release policy as a file.
type releaseWorld struct {
	app, step, task name.Digest
	policy          string
	chains          *fixture.Signer
}

func newReleaseWorld(t *testing.T) *releaseWorld {
	t.Helper()
	reg := fixture.NewRegistry(t, true)
	chains, release := fixture.NewKey(t), fixture.NewKey(t)
	w := &releaseWorld{chains: chains, step: fixture.PushRandomImage(t, reg.Repo("tools/builder:v1"))}
	chains.SignClassic(t, w.step)
	w.task = fixture.PushBundle(t, reg.Repo("tasks/build:v1"), fixture.ObjectLayer("Task", "build", fixture.TaskYAML("build", w.step.String())))
	release.SignClassic(t, w.task)
	w.app = fixture.PushRandomImage(t, reg.Repo("app/release:v1"))
	chains.SignClassic(t, w.app)
	chains.AttestClassicStatement(t, w.app, fixture.ChainsStatement(t, w.app, fixture.ChainsBuild{InvocationID: buildUID, Task: w.task, StepImage: w.step}))
	w.policy = filepath.Join(t.TempDir(), "release.yaml")
	doc := fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: release}
spec:
  authorities:
  - name: chains
    key:
      data: |
%s
    ignoreTlog: true
  - name: release
    key:
      data: |
%s
    ignoreTlog: true
  images: {authorities: [chains]}
  bundles: {authorities: [release]}
  provenance:
    builderIDs: [https://tekton.dev/chains/v2]
`, indent(chains.PublicPEM, "        "), indent(release.PublicPEM, "        "))
	if err := os.WriteFile(w.policy, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestVerifyProvenanceOffline: --image with --provenance judges the
// image's Chains provenance with no run to bind it to, and --provenance
// with a policy that has no spec.provenance is refused, never a pass.
func TestVerifyProvenanceOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	w := newReleaseWorld(t)
	code, r, stderr := jsonReport(t, nil, "--policy", w.policy, "--provenance", "--image", w.app.String())
	if code != 0 || r.Verdict != gate.VerdictPass || !slices.Equal(r.VerifiedImages, []string{w.app.String()}) {
		t.Fatalf("exit %d, report %+v\nstderr: %s", code, r, stderr)
	}
	if !noteHas(r.Notes, gate.CheckProvenance, "there is no run to compare it with here") {
		t.Errorf("no note that the run binding could not be compared: %+v", r.Notes)
	}

	unsigned := fixture.PushRandomImage(t, strings.Split(w.app.Context().Name(), "/")[0]+"/app/other:v1")
	w.chains.SignClassic(t, unsigned)
	code, r, _ = jsonReport(t, nil, "--policy", w.policy, "--image", unsigned.String())
	if code != 1 || !checks(r.Violations)[gate.CheckProvenance] {
		t.Errorf("an image without provenance, spec.provenance without --provenance: exit %d, %+v; want exit 1, a provenance violation", code, r)
	}

	code, r, _ = jsonReport(t, nil, "--policy", p("policy.yaml"), "--provenance", "--image", w.app.String())
	if code != 2 || !checks(r.Errors)[gate.CheckPolicy] || !strings.Contains(fmt.Sprint(r.Errors), "has no spec.provenance") {
		t.Errorf("--provenance with a policy without spec.provenance: exit %d, %+v; want exit 2 naming spec.provenance", code, r)
	}
	code, _, stderr = cli(t, nil, "verify", "--policy", w.policy, "--provenance", "-f", p("compliant"))
	if code != 2 || !strings.Contains(stderr, "--provenance judges the provenance of images") {
		t.Errorf("--provenance without images: exit %d, stderr %s; want a usage error", code, stderr)
	}
}

func noteHas(ns []gate.Note, check, sub string) bool {
	for _, n := range ns {
		if n.Check == check && strings.Contains(n.Message, sub) {
			return true
		}
	}
	return false
}

// releaseRun is a PipelineRun whose build task reported app and whose
// TaskRun (uid buildUID) Chains annotated with chains (empty: not yet).
func releaseRun(t *testing.T, w *releaseWorld, chains string) []runtime.Object {
	t.Helper()
	step := `
        steps:
        - name: s
          image: ` + w.step.String() + `
          script: "true"
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}`
	spec := `
    tasks:
    - name: gate
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: strict}
    - name: build
      runAfter: [gate]
      taskSpec:` + step + `
    - name: release-gate
      runAfter: [build]
      taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
      params:
      - name: images
        value: ["$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"]`
	var pr v1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(`apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: release-42, namespace: ci, uid: pr-uid}
spec:
  pipelineSpec:`+spec+`
status:
  pipelineSpec:`+spec+`
  childReferences:
  - {apiVersion: tekton.dev/v1, kind: TaskRun, name: release-42-build, pipelineTaskName: build}
`), &pr); err != nil {
		t.Fatal(err)
	}
	annotations := ""
	if chains != "" {
		annotations = fmt.Sprintf("\n  annotations: {chains.tekton.dev/signed: %q}", chains)
	}
	var tr v1.TaskRun
	if err := yaml.Unmarshal([]byte(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: release-42-build
  namespace: ci
  uid: `+buildUID+`
  labels: {tekton.dev/pipelineRun: release-42, tekton.dev/pipelineTask: build}`+annotations+`
  ownerReferences: [{apiVersion: tekton.dev/v1, kind: PipelineRun, name: release-42, uid: pr-uid, controller: true}]
status:
  conditions: [{type: Succeeded, status: "True", reason: Succeeded}]
  results:
  - {name: IMAGE_URL, value: `+w.app.Context().Name()+`}
  - {name: IMAGE_DIGEST, value: "`+w.app.DigestStr()+`"}
`), &tr); err != nil {
		t.Fatal(err)
	}
	return []runtime.Object{&pr, &tr}
}

// chainsCluster is a fake API server holding objs; signLater, when set,
// has Chains annotate the build TaskRun "true" once the command watches
// the run's TaskRuns.
func chainsCluster(objs []runtime.Object, signLater bool) connectFunc {
	return func(string) (*clusterConn, error) {
		tekton := fakepipeline.NewSimpleClientset(objs...)
		if signLater {
			tekton.PrependWatchReactor("taskruns", func(ktesting.Action) (bool, watch.Interface, error) {
				w := watch.NewFake()
				go func() {
					tr, err := tekton.Tracker().Get(v1.SchemeGroupVersion.WithResource("taskruns"), "ci", "release-42-build")
					if err != nil {
						w.Stop()
						return
					}
					signed := tr.(*v1.TaskRun).DeepCopy()
					signed.Annotations = map[string]string{"chains.tekton.dev/signed": "true"}
					if err := tekton.Tracker().Update(v1.SchemeGroupVersion.WithResource("taskruns"), signed, "ci"); err != nil {
						w.Stop()
						return
					}
					w.Modify(signed)
				}()
				return true, w, nil
			})
		}
		return &clusterConn{namespace: "ci",
			tekton: &pipelinerunresolver.Clients{Tekton: tekton, Resolution: fakeresolution.NewSimpleClientset()}}, nil
	}
}

// TestVerifyPipelineRunWaitsForChains: with spec.provenance, --pipelinerun
// traces each image to the TaskRun of the run that reports it, waits for
// Chains' verdict on that TaskRun (watching, within --timeout), and binds
// the provenance to it.
func TestVerifyPipelineRunWaitsForChains(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	w := newReleaseWorld(t)
	stranger := fixture.PushRandomImage(t, strings.Split(w.app.Context().Name(), "/")[0]+"/app/stranger:v1")
	w.chains.SignClassic(t, stranger)
	tests := []struct {
		name      string
		chains    string
		signLater bool
		image     string
		timeout   string
		wantCode  int
		wantCheck string // the check of a violation (exit 1) or an error (exit 2)
		wantText  string
	}{
		{name: "signed by Chains", chains: "true", image: w.app.String(), wantCode: 0},
		{name: "signed while the command waits", signLater: true, image: w.app.String(), wantCode: 0},
		{name: "Chains failed", chains: "failed", image: w.app.String(), wantCode: 1, wantCheck: gate.CheckChains,
			wantText: `Tekton Chains marked TaskRun ci/release-42-build (pipeline task \"build\", uid ` + buildUID + `)`},
		{name: "Chains never signs", image: w.app.String(), timeout: "2s", wantCode: 2, wantCheck: gate.CheckChains,
			wantText: "Tekton Chains has not finished with TaskRun ci/release-42-build"},
		{name: "an image no TaskRun of the run built", chains: "true", image: stranger.String(), wantCode: 1, wantCheck: gate.CheckProvenance,
			wantText: "no TaskRun of PipelineRun ci/release-42 reports " + stranger.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.timeout == "" {
				tt.timeout = "1m"
			}
			var out, errOut strings.Builder
			code := runWith([]string{"verify", "-o", "json", "--policy", w.policy, "--pipelinerun", "release-42", "--timeout", tt.timeout, "--", tt.image},
				strings.NewReader(""), &out, &errOut, env{connect: chainsCluster(releaseRun(t, w, tt.chains), tt.signLater)})
			var r gate.Report
			if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
				t.Fatalf("exit %d: %v\n%s\n%s", code, err, out.String(), errOut.String())
			}
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %+v\nstderr: %s", code, tt.wantCode, r, errOut.String())
			}
			all, _ := json.Marshal(r)
			switch tt.wantCode {
			case 0:
				if !slices.Equal(r.VerifiedImages, []string{tt.image}) {
					t.Errorf("verified images %v, want exactly the artifact %s", r.VerifiedImages, tt.image)
				}
				if !noteHas(r.Notes, gate.CheckProvenance, "built by TaskRun ci/release-42-build") {
					t.Errorf("no note binding the provenance to the TaskRun: %+v", r.Notes)
				}
			case 1:
				if !checks(r.Violations)[tt.wantCheck] {
					t.Errorf("no %s violation: %s", tt.wantCheck, all)
				}
			case 2:
				if !checks(r.Errors)[tt.wantCheck] {
					t.Errorf("no %s error: %s", tt.wantCheck, all)
				}
			}
			if tt.wantText != "" && !strings.Contains(string(all), tt.wantText) {
				t.Errorf("report does not mention %q:\n%s", tt.wantText, all)
			}
		})
	}
}
