//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestReleaseGate runs the two-gate pipeline (pre-run gate, build, release
// gate, deploy) with a real Tekton Chains controller signing what the build
// TaskRun reports, and the release gate waiting for it:
//
//   - build → Chains signs → the release gate passes → deploy receives the
//     digest;
//   - the provenance is signed by another key than the policy trusts: fails;
//   - the build task came from an unsigned bundle (its provenance says so):
//     fails;
//   - the image passed to the gate was built by another run and injected
//     through a result Chains does not attest: fails;
//   - Chains marks the build TaskRun failed: fails, naming the TaskRun;
//   - Chains does not run for the namespace: VerificationError when the
//     release gate times out;
//   - the controller restarts while the gate waits for Chains: one outcome;
//     the CLI (verify --pipelinerun), started before Chains, waits for it
//     the same way and passes.
func TestReleaseGate(t *testing.T) {
	requireGate(t)
	ctx := context.Background()
	if err := env.InstallChains(ctx); err != nil {
		t.Fatal(err)
	}
	// One namespace per scenario; Chains watches only those that want it.
	names := []string{"passes", "another-key", "unsigned-bundle", "injected", "chains-failed"}
	nss := map[string]string{}
	for _, n := range names {
		nss[n] = env.Namespace(t)
	}
	notWatched := env.Namespace(t)
	restart := env.Namespace(t)
	var watched []string
	for _, n := range names {
		watched = append(watched, nss[n])
	}
	chains, err := env.StartChains(ctx, framework.ChainsOptions{Namespaces: watched})
	if err != nil {
		t.Fatal(err)
	}
	stopChains := func(c *framework.Chains, nss ...string) {
		c.Stop(10 * time.Second)
		for _, ns := range nss {
			if err := env.RemoveChainsFinalizers(context.Background(), ns); err != nil {
				t.Logf("%v", err)
			}
		}
	}
	chainsStopped := false
	t.Cleanup(func() {
		if !chainsStopped {
			stopChains(chains, watched...)
		}
	})
	k := newReleaseKit(t, chains.PublicKeyPEM)
	cliBin := buildCLI(t)

	// Started first: its release gate times out while the others run.
	k.startRelease(t, notWatched, k.pre, k.release, k.buildBundle, builtImage, "40s")

	var firstApp name.Digest
	t.Run("passes", func(t *testing.T) {
		ns := nss["passes"]
		k.startRelease(t, ns, k.pre, k.release, k.buildBundle, builtImage, "")
		assertGate(t, gateDone(t, ns, "release", "gate"), corev1.ConditionTrue, "Passed", "pass")
		app := fixture.PushRandomImage(t, env.Registry.Host+"/release-gate/app-passes:v1")
		firstApp = app
		tr := build(t, ns, app, "")
		if v, err := env.ChainsVerdict(ctx, ns, tr.Name, 2*time.Minute); err != nil || v != "true" {
			t.Fatalf("Chains on %s: %q, %v\n%s", tr.Name, v, err, chains.LogTail(20))
		}
		cr := gateDone(t, ns, "release", "release-gate")
		assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
		got, _ := result(cr, "verified-images")
		if want := fmt.Sprintf("[%q]", app.String()); got != want {
			t.Errorf("release gate verified-images = %s, want exactly the artifact %s", got, want)
		}
		deploy := waitTaskRun(t, ns, "deploy")
		var images []string
		for _, p := range deploy.Spec.Params {
			if p.Name == "images" {
				images = p.Value.ArrayVal
			}
		}
		if !slices.Equal(images, []string{app.String()}) {
			t.Errorf("deploy TaskRun %s received images %q, want [%s]", deploy.Name, images, app)
		}
	})

	failing := []struct {
		name, pre, release, bundle, images string
		app                                func(t *testing.T) (app name.Digest, ref string)
		check, msg                         string
	}{
		{name: "another-key", pre: k.pre, release: k.releaseOtherKey, bundle: k.buildBundle, images: builtImage,
			check: "provenance", msg: "signed by authority provenance"},
		{name: "unsigned-bundle", pre: k.preLenient, release: k.release, bundle: k.unsignedBuild, images: builtImage,
			check: "provenance", msg: "which is not signed by spec.bundles.authorities"},
		{name: "injected", pre: k.pre, release: k.release, bundle: k.buildBundle, images: injectedImage,
			app: func(t *testing.T) (name.Digest, string) {
				if firstApp.DigestStr() == "" {
					t.Skip("needs the image the passing scenario built")
				}
				own := fixture.PushRandomImage(t, env.Registry.Host+"/release-gate/app-injected:v1")
				return own, firstApp.String()
			},
			check: "provenance", msg: "cannot be bound to the TaskRun of this run that built it"},
		{name: "chains-failed", pre: k.pre, release: k.release, bundle: k.buildBundle, images: builtImage,
			app: func(t *testing.T) (name.Digest, string) {
				// Chains cannot store its signature in a registry that
				// refuses connections: after its retries it marks the
				// TaskRun failed.
				d, err := name.NewDigest(closedPort(t) + "/app@sha256:" + strings.Repeat("ab", 32))
				if err != nil {
					t.Fatal(err)
				}
				return d, ""
			},
			check: "chains", msg: `chains.tekton.dev/signed="failed"`},
	}
	for _, tt := range failing {
		t.Run(tt.name, func(t *testing.T) {
			ns := nss[tt.name]
			app, ref := fixture.PushRandomImage(t, env.Registry.Host+"/release-gate/app-"+tt.name+":v1"), ""
			if tt.app != nil {
				app, ref = tt.app(t)
			}
			k.startRelease(t, ns, tt.pre, tt.release, tt.bundle, tt.images, "")
			assertGate(t, gateDone(t, ns, "release", "gate"), corev1.ConditionTrue, "Passed", "pass")
			tr := build(t, ns, app, ref)
			want := "true"
			if tt.name == "chains-failed" {
				want = "failed"
			}
			if v, err := env.ChainsVerdict(ctx, ns, tr.Name, 3*time.Minute); err != nil || v != want {
				t.Fatalf("Chains on %s: %q (want %q), %v\n%s", tr.Name, v, want, err, chains.LogTail(20))
			}
			cr := gateDone(t, ns, "release", "release-gate")
			assertGate(t, cr, corev1.ConditionFalse, "PolicyViolation", "fail")
			assertReportSays(t, cr, tt.check, tt.msg)
			if tt.name == "chains-failed" {
				assertReportSays(t, cr, "chains", "TaskRun "+ns+"/"+tr.Name)
			}
			assertNoDeploy(t, ns)
		})
	}

	t.Run("chains-not-running", func(t *testing.T) {
		ns := notWatched
		assertGate(t, gateDone(t, ns, "release", "gate"), corev1.ConditionTrue, "Passed", "pass")
		app := fixture.PushRandomImage(t, env.Registry.Host+"/release-gate/app-not-watched:v1")
		tr := build(t, ns, app, "")
		cr := gateDone(t, ns, "release", "release-gate")
		assertGate(t, cr, corev1.ConditionFalse, "VerificationError", "error")
		c := cr.Status.GetCondition(apis.ConditionSucceeded)
		if !strings.Contains(c.Message, "Tekton Chains") || !strings.Contains(c.Message, tr.Name) {
			t.Errorf("the release gate's message does not say Chains did not sign %s: %s", tr.Name, c.Message)
		}
		assertNoDeploy(t, ns)
	})

	t.Run("controller-restart", func(t *testing.T) {
		stopChains(chains, watched...)
		chainsStopped = true
		ns := restart
		k.startRelease(t, ns, k.pre, k.release, k.buildBundle, builtImage, "")
		assertGate(t, gateDone(t, ns, "release", "gate"), corev1.ConditionTrue, "Passed", "pass")
		app := fixture.PushRandomImage(t, env.Registry.Host+"/release-gate/app-restart:v1")
		tr := build(t, ns, app, "")
		cr := gateOf(t, ns, "release", "release-gate")
		framework.Eventually(t, 2*time.Minute, "the release gate to wait for Chains", func(ctx context.Context) (bool, error) {
			got, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, cr.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			c := got.Status.GetCondition(apis.ConditionSucceeded)
			return c != nil && c.IsUnknown() && strings.Contains(c.Message, "Tekton Chains"), nil
		})

		// The CLI waits for Chains too, watching the run's TaskRuns.
		cli := startCLI(t, cliBin, "--policy-name", k.release, "--kubeconfig", env.Kubeconfig, "--pipelinerun", "release",
			"--namespace", ns, "--timeout", "4m", "-o", "json", "--", app.String())

		gate.Kill()
		next, err := env.StartGateController(ctx, gateBin, "security-gate-controller-release", true)
		if err != nil {
			gateErr = err
			t.Fatal(err)
		}
		gate = next
		again, err := env.StartChains(ctx, framework.ChainsOptions{Namespaces: []string{ns}})
		if err != nil {
			t.Fatal(err)
		}
		defer stopChains(again, ns)
		if v, err := env.ChainsVerdict(ctx, ns, tr.Name, 2*time.Minute); err != nil || v != "true" {
			t.Fatalf("Chains on %s: %q, %v\n%s", tr.Name, v, err, again.LogTail(20))
		}
		cr = gateDone(t, ns, "release", "release-gate")
		assertGate(t, cr, corev1.ConditionTrue, "Passed", "pass")
		assertOneVerdictEvent(t, ns, cr.Name)
		waitTaskRun(t, ns, "deploy")
		if code, out, stderr := cli(); code != 0 || !strings.Contains(out, `"verdict": "pass"`) {
			t.Errorf("verify --pipelinerun, started before Chains signed: exit %d\n%s\n%s", code, out, stderr)
		}
	})
}

// assertNoDeploy: nothing ran after a release gate that did not pass.
func assertNoDeploy(t *testing.T, ns string) {
	t.Helper()
	trs, err := env.Tekton.TektonV1().TaskRuns(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "tekton.dev/pipelineTask=deploy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(trs.Items) > 0 {
		t.Fatalf("deploy ran in %s after the release gate did not pass", ns)
	}
}

// assertOneVerdictEvent: the CustomRun's verdict was recorded once.
func assertOneVerdictEvent(t *testing.T, ns, cr string) {
	t.Helper()
	// Events are sent asynchronously after the status update that ends the
	// run: wait for the first, then give a second one time to show.
	count := func() (int, []corev1.Event) {
		evs, err := env.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + cr})
		if err != nil {
			t.Fatal(err)
		}
		verdicts := 0
		for _, e := range evs.Items {
			switch e.Reason {
			case "Passed", "PassedWithWarnings", "PolicyViolation", "VerificationError":
				verdicts += int(max(e.Count, 1))
			}
		}
		return verdicts, evs.Items
	}
	deadline := time.Now().Add(20 * time.Second)
	verdicts, items := count()
	for verdicts == 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		verdicts, items = count()
	}
	if verdicts == 1 {
		time.Sleep(2 * time.Second)
		verdicts, items = count()
	}
	if verdicts != 1 {
		t.Fatalf("CustomRun %s/%s has %d verdict Events, want exactly 1: %s", ns, cr, verdicts, dump(items))
	}
}
