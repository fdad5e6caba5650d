//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// releaseKit is what the release-gate scenarios share: the team key (it
// signs bundles and step images, and attests their scans), the step
// images, the build task in a signed and in an unsigned bundle, the deploy
// task, and the policies: a pre-run gate (strict), a release gate trusting
// Chains' key for images and provenance, and the same trusting another key
// for the provenance.
type releaseKit struct {
	team                        *fixture.Signer
	buildBundle, unsignedBuild  string
	deployBundle                string
	pre, preLenient             string // ClusterSecurityGate names
	release, releaseOtherKey    string
	builderImage, deployerImage name.Digest
}

// buildTask reports what Chains reads (IMAGE_URL, IMAGE_DIGEST) and a
// plain result REF that Chains does not attest.
func buildTask(builder name.Digest) string {
	return `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build}
spec:
  results:
  - {name: IMAGE_URL}
  - {name: IMAGE_DIGEST}
  - {name: REF}
  steps:
  - name: build
    image: ` + builder.String() + `
    script: echo build` + taskStepRestricted + "\n"
}

// taskStepRestricted is restricted indented for a Task's steps (restricted
// is indented for a pipeline's taskSpec).
var taskStepRestricted = strings.ReplaceAll(restricted, "\n  ", "\n")

// deployTask takes the release gate's verified-images as an array.
func deployTask(deployer name.Digest) string {
	return `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: deploy}
spec:
  params:
  - {name: images, type: array}
  steps:
  - name: deploy
    image: ` + deployer.String() + `
    args: ["$(params.images[*])"]` + taskStepRestricted + "\n"
}

// releasePipelineYAML is the two-gate pipeline: a pre-run gate, build, a
// release gate fed by images (the expression written in the pipeline),
// deploy with the release gate's verified-images. releaseTimeout, when set,
// is the release gate's timeout.
func releasePipelineYAML(pre, release, buildBundle, deployBundle, images, releaseTimeout string) string {
	timeout := ""
	if releaseTimeout != "" {
		timeout = "\n    timeout: " + releaseTimeout
	}
	return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release}
spec:
  tasks:
  - name: gate
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: %s}
  - name: build
    runAfter: [gate]
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: %s}
      - {name: name, value: build}
      - {name: kind, value: task}
  - name: release-gate
    runAfter: [build]%s
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: %s}
    params:
    - name: images
      value: [%q]
  - name: deploy
    runAfter: [release-gate]
    params:
    - {name: images, value: $(tasks.release-gate.results.verified-images)}
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: %s}
      - {name: name, value: deploy}
      - {name: kind, value: task}
`, pre, buildBundle, timeout, release, images, deployBundle)
}

// The images param as a release gate receives a build's output, and an
// injected one: a plain result Chains does not attest.
const (
	builtImage    = "$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"
	injectedImage = "$(tasks.build.results.REF)"
)

func newReleaseKit(t *testing.T, chainsPub string) *releaseKit {
	t.Helper()
	k := &releaseKit{team: fixture.NewKey(t)}
	k.builderImage = pushImage(t, "release-gate/builder", image{signer: k.team})
	k.deployerImage = pushImage(t, "release-gate/deployer", image{signer: k.team})
	k.buildBundle = pushSignedBundle(t, "release-gate/build", buildTask(k.builderImage), k.team)
	k.unsignedBuild = pushSignedBundle(t, "release-gate/build-unsigned", buildTask(k.builderImage), nil)
	k.deployBundle = pushSignedBundle(t, "release-gate/deploy", deployTask(k.deployerImage), k.team)

	k.pre, k.preLenient = "rg-pre", "rg-pre-lenient"
	createPolicy(t, "", k.pre, strictPolicy(k.team))
	lenient := strictPolicy(k.team)
	lenient.Bundles.Authorities = nil // lets an unsigned build task reach the release gate
	createPolicy(t, "", k.preLenient, lenient)

	k.release, k.releaseOtherKey = "rg-release", "rg-release-other-key"
	createPolicy(t, "", k.release, releasePolicy(k.team, chainsPub, chainsPub))
	createPolicy(t, "", k.releaseOtherKey, releasePolicy(k.team, chainsPub, fixture.NewKey(t).PublicPEM))
	return k
}

// releasePolicy trusts team for bundles and step images, Chains' key for
// the images a build made, and provenanceKey for their provenance.
func releasePolicy(team *fixture.Signer, chainsPub, provenanceKey string) v1alpha1.SecurityGateSpec {
	return v1alpha1.SecurityGateSpec{
		Mode: v1alpha1.ModeEnforce,
		Authorities: []v1alpha1.Authority{
			{Name: "team", Key: &v1alpha1.KeyAuthority{Data: team.PublicPEM}, IgnoreTlog: true},
			{Name: "chains", Key: &v1alpha1.KeyAuthority{Data: chainsPub}, IgnoreTlog: true},
			{Name: "provenance", Key: &v1alpha1.KeyAuthority{Data: provenanceKey}, IgnoreTlog: true},
		},
		Bundles:         &v1alpha1.BundlePolicy{Required: true, RequireDigest: true, Authorities: []string{"team"}},
		Images:          &v1alpha1.ImagePolicy{RequireDigest: true, Authorities: []string{"team", "chains"}},
		SecurityContext: &v1alpha1.SecurityContextPolicy{Level: v1alpha1.LevelRestricted},
		Provenance: &v1alpha1.ProvenancePolicy{
			Authorities: []string{"provenance"},
			BuilderIDs:  []string{"https://tekton.dev/chains/v2"},
		},
	}
}

// startRelease publishes the pipeline for the given policies, build bundle
// and images expression, and runs it in ns as PipelineRun "release".
func (k *releaseKit) startRelease(t *testing.T, ns, pre, release, buildBundle, images, releaseTimeout string) {
	t.Helper()
	p := pushSignedBundle(t, "release-gate/pipeline-"+ns, releasePipelineYAML(pre, release, buildBundle, k.deployBundle, images, releaseTimeout), k.team)
	runPipelineBundle(t, ns, "release", p)
}

// build plays the kubelet for the build TaskRun once it has a Pod: it
// reports app (IMAGE_URL, IMAGE_DIGEST) and ref (REF) as results. It
// returns the TaskRun, finished.
func build(t *testing.T, ns string, app name.Digest, ref string) *pipelinev1.TaskRun {
	t.Helper()
	ctx := context.Background()
	tr := waitTaskRun(t, ns, "build")
	if err := env.CompleteBuildPod(ctx, ns, tr.Name, framework.BuildPod{
		Now: time.Now(),
		Results: []framework.TaskResult{
			{Name: "IMAGE_URL", Value: app.Context().Name()},
			{Name: "IMAGE_DIGEST", Value: app.DigestStr()},
			{Name: "REF", Value: ref},
		},
	}, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	done, err := env.WaitTaskRunDone(ctx, ns, tr.Name, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c := done.Status.GetCondition("Succeeded"); c == nil || !c.IsTrue() {
		t.Fatalf("build TaskRun %s/%s did not succeed: %+v", ns, tr.Name, done.Status.Conditions)
	}
	return done
}

// gateOf waits for the CustomRun of pipeline task task of PipelineRun pr.
func gateOf(t *testing.T, ns, pr, task string) *v1beta1.CustomRun {
	t.Helper()
	var cr *v1beta1.CustomRun
	sel := pipeline.PipelineRunLabelKey + "=" + pr + "," + pipeline.PipelineTaskLabelKey + "=" + task
	framework.Eventually(t, 3*time.Minute, "the CustomRun of pipeline task "+task+" of "+ns+"/"+pr, func(ctx context.Context) (bool, error) {
		l, err := env.Tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		cr = &l.Items[0]
		return true, nil
	})
	return cr
}

// gateDone waits for that CustomRun to finish.
func gateDone(t *testing.T, ns, pr, task string) *v1beta1.CustomRun {
	t.Helper()
	cr := gateOf(t, ns, pr, task)
	framework.Eventually(t, 4*time.Minute, "gate CustomRun "+ns+"/"+cr.Name+" to finish", func(ctx context.Context) (bool, error) {
		got, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, cr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cr = got
		return cr.IsDone(), nil
	})
	return cr
}

// assertReportSays checks that the report names check with a message
// containing msg.
func assertReportSays(t *testing.T, cr *v1beta1.CustomRun, check, msg string) {
	t.Helper()
	// The whole report (status.extraFields): the report result shortens
	// long messages.
	rep := fullReport(t, cr)
	for _, f := range append(rep.Violations, rep.Errors...) {
		if f.Check == check && strings.Contains(f.Message, msg) {
			return
		}
	}
	t.Fatalf("gate CustomRun %s/%s report has no %s finding containing %q: %s", cr.Namespace, cr.Name, check, msg, reportOf(cr))
}

// startCLI starts bin verify with args in the background; the returned
// function waits for it and returns its exit code, stdout and stderr.
func startCLI(t *testing.T, bin string, args ...string) func() (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	cmd := exec.CommandContext(ctx, bin, append([]string{"verify"}, args...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() (int, string, string) {
		defer cancel()
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			code = -1
		}
		return code, stdout.String(), stderr.String()
	}
}

// closedPort is a loopback address nothing listens on: a registry that
// refuses every connection.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
