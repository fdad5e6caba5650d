//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/fixture"
)

// cliPolicy is the compliant baseline for an embedded pipeline: images
// signed by key with a fresh scan and no Critical CVE, restricted steps. No
// bundle rule: the pipeline and tasks are embedded in the run.
func cliPolicy(key *fixture.Signer) v1alpha1.SecurityGateSpec {
	spec := strictPolicy(key)
	spec.Bundles = nil
	return spec
}

// `security-gate verify --pipelinerun` as the catalog Task runs it,
// as a process against the real API server, with the catalog Task's RBAC
// (samples/rbac.yaml) through a ServiceAccount token, and a ClusterSecurityGate
// read from the cluster. Tekton resolves the runs alone: the gate is a plain
// Task, so our controller takes no part.
func TestCLIPipelineRun(t *testing.T) {
	bin := buildCLI(t)
	ns := env.Namespace(t)
	key := fixture.NewKey(t)
	policyName := "cli-" + ns
	createPolicy(t, "", policyName, cliPolicy(key))

	taskKcfg := applyTaskRBAC(t, ns)
	// Without any RBAC; and with only the policy reader (no Role in ns).
	noRBACKcfg := saKubeconfig(t, ns, "no-rbac")
	// A binding may name a ServiceAccount before it exists.
	bindPolicyReader(t, ns, "policy-only")
	policyOnlyKcfg := saKubeconfig(t, ns, "policy-only")
	bindTektonReaderOnly(t, ns, "no-resolutionrequests")
	noRRKcfg := saKubeconfig(t, ns, "no-resolutionrequests")

	gateImg := pushImage(t, ns+"/gate", image{signer: key})
	compiler := pushImage(t, ns+"/compiler", image{signer: key})
	extra := pushImage(t, ns+"/app", image{signer: key})
	unsigned := pushImage(t, ns+"/unsigned", image{})

	runs := map[string][]cliStep{
		"compliant":  {{d: compiler}},
		"unsigned":   {{d: compiler}, {d: unsigned}},
		"privileged": {{d: compiler, privileged: true}},
	}
	for pr, steps := range runs {
		createGatedRun(t, ns, pr, gateImg, steps)
	}
	// The same pipeline from signed bundles, through Tekton's bundles
	// resolver: the CLI then reads the run's ResolutionRequests, which the
	// Task's Role must allow. bundlePolicy also requires signed bundles.
	bundlePolicy := "cli-bundles-" + ns
	createPolicy(t, "", bundlePolicy, strictPolicy(key))
	taskBundle := pushSignedBundle(t, ns+"/task-build", buildTaskOf([]stepImage{{d: compiler}}), key)
	runPipelineBundle(t, ns, "from-bundles",
		pushSignedBundle(t, ns+"/pipeline-release", gatedPipelineCLI(gateImg, taskBundle), key))
	runPipelineBundle(t, ns, "from-bundles-other-key",
		pushSignedBundle(t, ns+"/pipeline-other", gatedPipelineCLI(gateImg, taskBundle), fixture.NewKey(t)))
	prs := []string{"compliant", "unsigned", "privileged", "from-bundles", "from-bundles-other-key"}
	cancelRunsAtEnd(t, ns, prs...)
	for _, pr := range prs {
		waitResolved(t, ns, pr)
	}

	for _, tc := range []struct {
		name, pr, kubeconfig string
		policy               string // default policyName

		wantCode    int
		wantVerdict string // -o json verdict and the verdict result file
		// wantFinding is a finding the report must hold: kind
		// (violations, errors), check id, and part of its message.
		wantFinding  [3]string
		wantVerified []string
	}{
		{
			name: "compliant", pr: "compliant", kubeconfig: taskKcfg,
			wantCode: 0, wantVerdict: "pass",
			wantVerified: []string{gateImg.String(), compiler.String(), extra.String()},
		},
		{
			name: "unsigned-step", pr: "unsigned", kubeconfig: taskKcfg,
			wantCode: 1, wantVerdict: "fail",
			wantFinding: [3]string{"violations", "image-signature", ""},
		},
		{
			name: "privileged-step", pr: "privileged", kubeconfig: taskKcfg,
			wantCode: 1, wantVerdict: "fail",
			wantFinding: [3]string{"violations", "security-context", ""},
		},
		{
			name: "compliant-from-bundles", pr: "from-bundles", kubeconfig: taskKcfg, policy: bundlePolicy,
			wantCode: 0, wantVerdict: "pass",
			wantVerified: []string{gateImg.String(), compiler.String(), extra.String()},
		},
		{
			name: "pipeline-bundle-signed-by-another-key", pr: "from-bundles-other-key", kubeconfig: taskKcfg, policy: bundlePolicy,
			wantCode: 1, wantVerdict: "fail",
			wantFinding: [3]string{"violations", "bundle-signature", ""},
		},
		{
			name: "pipelinerun-not-found", pr: "does-not-exist", kubeconfig: taskKcfg,
			wantCode: 2, wantVerdict: "error",
			wantFinding: [3]string{"errors", "input", "not found"},
		},
		{
			name: "sa-without-rbac", pr: "compliant", kubeconfig: noRBACKcfg,
			wantCode: 2, wantVerdict: "error",
			wantFinding: [3]string{"errors", "policy", "forbidden"},
		},
		{
			name: "sa-may-read-policy-only", pr: "compliant", kubeconfig: policyOnlyKcfg,
			wantCode: 2, wantVerdict: "error",
			wantFinding: [3]string{"errors", "input", "forbidden"},
		},
		{
			// Bundles pinned from the ResolutionRequests Tekton completed:
			// unreadable, the run cannot be decided (never a pass).
			name: "sa-without-resolutionrequests", pr: "from-bundles", kubeconfig: noRRKcfg, policy: bundlePolicy,
			wantCode: 2, wantVerdict: "error",
			// The resolver could not say what Tekton resolved: unresolved,
			// could not decide (not a registry failure).
			wantFinding: [3]string{"errors", "unresolved", `cannot list resource "resolutionrequests"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			policy := policyName
			if tc.policy != "" {
				policy = tc.policy
			}
			r := runCLI(t, bin,
				"--policy-name", policy, "--pipelinerun", tc.pr, "--namespace", ns,
				"--kubeconfig", tc.kubeconfig, "--gate-task", "security-gate", "-o", "json",
				"--", extra.String())
			diag := "\nstdout: " + r.stdout + "\nstderr: " + r.stderr
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d%s", r.code, tc.wantCode, diag)
			}
			if got := r.report["verdict"]; got != tc.wantVerdict {
				t.Errorf("-o json verdict %v, want %s%s", got, tc.wantVerdict, diag)
			}
			if got := strings.TrimSpace(r.results["verdict"]); got != tc.wantVerdict {
				t.Errorf("result file verdict %q, want %q", got, tc.wantVerdict)
			}
			var rep map[string]any
			if err := json.Unmarshal([]byte(r.results["report"]), &rep); err != nil {
				t.Errorf("result file report is not JSON: %v: %q", err, r.results["report"])
			} else if rep["verdict"] != tc.wantVerdict {
				t.Errorf("result file report verdict %v, want %s: %s", rep["verdict"], tc.wantVerdict, r.results["report"])
			}
			var verified []string
			if err := json.Unmarshal([]byte(r.results["verified-images"]), &verified); err != nil {
				t.Errorf("result file verified-images is not a JSON array: %v: %q", err, r.results["verified-images"])
			}

			if tc.wantCode == 0 {
				if v := strings.TrimSpace(r.results["violations"]); v != "0" {
					t.Errorf("result file violations %q, want 0", v)
				}
				for _, kind := range []string{"violations", "errors"} {
					if c := r.checks(kind); len(c) > 0 {
						t.Errorf("a passing run has %s %v%s", kind, c, diag)
					}
				}
				for _, d := range tc.wantVerified {
					if !slices.Contains(verified, d) {
						t.Errorf("result file verified-images %v does not list %s", verified, d)
					}
				}
				return
			}
			kind, check, msg := tc.wantFinding[0], tc.wantFinding[1], tc.wantFinding[2]
			if !r.has(kind, check, msg) {
				t.Errorf("report has no %s finding of check %q with %q: %s %v%s", kind, check, msg, kind, r.checks(kind), diag)
			}
			if tc.wantCode == 1 {
				if v := strings.TrimSpace(r.results["violations"]); v == "0" || v == "" {
					t.Errorf("result file violations %q, want at least 1", v)
				}
			}
		})
	}
}
