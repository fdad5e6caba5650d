//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	gatereport "github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/e2e/oracle"
	"github.com/security-gate/security-gate/test/fixture"
)

// oracleParallel is how many corpus runs are in flight at once
// (E2E_ORACLE_PARALLEL overrides it).
const oracleParallel = 4

// TestOracle runs every corpus run of test/e2e/oracle/corpus with the gate in
// Warn mode, lets Tekton create and run everything, and compares every Pod
// Tekton created with what the gate said: the controller's report (status.
// extraFields) and the CLI's (`security-gate verify -f` on the case's files,
// tekton.dev/v1beta1 objects as written). Zero misses is the only pass.
func TestOracle(t *testing.T) {
	requireGate(t)
	cases, err := oracle.LoadCorpus(filepath.Join(env.Root, "test", "e2e", "oracle", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	key := fixture.NewKey(t)
	cli := buildCLI(t)
	drv := &oracle.Driver{Env: env, Now: time.Now, Timeout: 4 * time.Minute}
	parallel := oracleParallel
	if v, err := strconv.Atoi(os.Getenv("E2E_ORACLE_PARALLEL")); err == nil && v > 0 {
		parallel = v
	}

	t0 := time.Now()
	var mu sync.Mutex
	var rows []string
	total := map[string]int{}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(c.Name, func(t *testing.T) {
				row, counts := runOracleCase(t, c, key, cli, drv)
				mu.Lock()
				defer mu.Unlock()
				rows = append(rows, row)
				for k, v := range counts {
					total[k] += v
				}
			})
		}()
	}
	wg.Wait()
	sort.Strings(rows)
	t.Logf("oracle: %d runs, %d Pods, %d containers judged; misses: controller %d, cli %d; wall time %v (%d in parallel)\n  %s",
		len(cases), total["pods"], total["containers"], total["controller"], total["cli"],
		time.Since(t0).Round(time.Second), parallel, strings.Join(rows, "\n  "))
}

// runOracleCase runs one corpus case and reports each miss as a test error.
func runOracleCase(t *testing.T, c oracle.Case, key *fixture.Signer, cli string, drv *oracle.Driver) (string, map[string]int) {
	ns := env.Namespace(t)
	policyName := "oracle-" + ns
	r, err := c.Render(oracle.Data{Policy: policyName, Namespace: ns, Registry: env.Registry.Host},
		&oracleImages{t: t, ns: ns, key: key, made: map[string]madeImage{}})
	if err != nil {
		t.Fatal(err)
	}
	spec := oraclePolicy(key, r.Header.Level)
	createPolicy(t, "", policyName, spec)
	dir := t.TempDir()
	policyFile, inputFile := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "run.yaml")
	writePolicyFile(t, policyFile, policyName, spec)
	in, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inputFile, in, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	out, err := drv.Run(ctx, r)
	if err != nil {
		if out != nil && out.Report != nil {
			t.Fatalf("%v\nthe gate's report: %s", err, dump(out.Report))
		}
		t.Fatal(err)
	}
	if len(out.Pods) != r.Header.Pods {
		t.Errorf("%s: Tekton created %d Pods, the case expects oracle.pods = %d: it did not run what it is about", c.Path, len(out.Pods), r.Header.Pods)
	}
	counts := map[string]int{"pods": len(out.Pods)}
	for _, o := range out.Observations {
		counts["containers"] += len(o.Containers)
	}
	misses := oracle.Check("controller", out.Run, out.Report, out.Observations)
	counts["controller"] = len(misses)

	res := runCLI(t, cli, "--policy", policyFile, "-f", inputFile, "-o", "json")
	var cliReport gatereport.Report
	if b, err := json.Marshal(res.report); err != nil || json.Unmarshal(b, &cliReport) != nil {
		t.Fatalf("security-gate verify -o json: not a report: %s", res.stdout)
	}
	if res.code != 0 {
		t.Errorf("security-gate verify --policy (Warn mode) -f %s: exit %d, want 0; errors: %v\nstderr: %s", c.Path, res.code, cliReport.Errors, res.stderr)
	}
	t.Logf("the controller said: %s", oracle.Said(out.Report))
	t.Logf("the CLI said: %s", oracle.Said(&cliReport))
	cliMisses := oracle.Check("cli", out.Run, &cliReport, out.Observations)
	counts["cli"] = len(cliMisses)
	for _, m := range append(misses, cliMisses...) {
		t.Error(m.String())
	}
	return fmt.Sprintf("%-40s pods %d  controller %-4s misses %d  cli %-4s misses %d", c.Name, len(out.Pods),
		out.Report.Verdict, counts["controller"], cliReport.Verdict, counts["cli"]), counts
}

// oraclePolicy is the suite's strict policy in Warn mode, at level: so
// Tekton runs everything, and the report says what would have stopped it.
func oraclePolicy(key *fixture.Signer, level string) v1alpha1.SecurityGateSpec {
	spec := strictPolicy(key)
	spec.Mode = v1alpha1.ModeWarn
	spec.Bundles = nil
	spec.SecurityContext = &v1alpha1.SecurityContextPolicy{Level: v1alpha1.SecurityContextLevel(level)}
	return spec
}

func writePolicyFile(t *testing.T, path, policyName string, spec v1alpha1.SecurityGateSpec) {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(map[string]any{
		"apiVersion": "securitygate.dev/v1alpha1", "kind": v1alpha1.KindClusterSecurityGate,
		"metadata": map[string]any{"name": policyName}, "spec": m,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// oracleImages pushes the images a case names to ns/<name> in the suite's
// registry, once per name.
type oracleImages struct {
	t    *testing.T
	ns   string
	key  *fixture.Signer
	made map[string]madeImage
}

type madeImage struct{ kind, ref string }

func (im *oracleImages) make(kind, imageName string) (string, error) {
	if m, ok := im.made[imageName]; ok {
		if m.kind != kind {
			return "", fmt.Errorf("image %q is used as %s and as %s: give each its own name", imageName, m.kind, kind)
		}
		return m.ref, nil
	}
	repo := im.ns + "/" + imageName
	var ref string
	switch kind {
	case "signed":
		ref = pushImage(im.t, repo, image{signer: im.key}).String()
	case "unsigned":
		ref = pushImage(im.t, repo, image{}).String()
	case "tag":
		pushImage(im.t, repo, image{signer: im.key})
		ref = env.Registry.Host + "/" + repo + ":latest"
	case "critical":
		ref = pushImage(im.t, repo, image{signer: im.key, critical: []string{"CVE-2026-0042"}}).String()
	}
	im.made[imageName] = madeImage{kind, ref}
	return ref, nil
}

func (im *oracleImages) Signed(n string) (string, error)   { return im.make("signed", n) }
func (im *oracleImages) Unsigned(n string) (string, error) { return im.make("unsigned", n) }
func (im *oracleImages) Tag(n string) (string, error)      { return im.make("tag", n) }
func (im *oracleImages) Critical(n string) (string, error) { return im.make("critical", n) }
