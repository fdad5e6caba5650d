//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/manifest"
	"github.com/security-gate/security-gate/test/fixture"
)

// The workloads: the 40-image run of every figure, and the scale run.
// Both are 20-task PipelineRuns; the scale run has more steps per task.
const (
	numImages      = 40
	numScaleImages = 400
	numTasks       = 20
)

// world is the benchmark's registry content and the files a user would have:
// the policy, the PipelineRun and the public key, in one directory.
type world struct {
	n      int // distinct images
	reg    *fixture.Registry
	key    *fixture.Signer
	other  *fixture.Signer // a key that signed nothing: negative controls
	images []name.Digest

	dir                           string
	policyPath, runPath, keyPath  string
	otherPolicyPath, otherKeyPath string

	// spec and objs are read back from those files with the CLI's own
	// parsers, so (b) verifies exactly what (a) verifies.
	spec *v1alpha1.SecurityGateSpec
	objs []runtime.Object

	// failure is why an in-process verification did not pass.
	failure string
}

// newWorld builds the registry with n images (a multiple of numTasks) and
// the files. The registry lives as long as tb (its Cleanup closes it).
func newWorld(tb testing.TB, n int) *world {
	tb.Helper()
	w := &world{n: n, reg: fixture.NewRegistry(tb, true), key: fixture.NewKey(tb), other: fixture.NewKey(tb), dir: tb.TempDir()}
	// A scan an hour old: well inside maxAge, with the wall clock the CLI
	// uses (no --now, as a user would run it).
	w.images = fixture.SignedImages(tb, w.reg, w.key, "bench/img", n, time.Now().Add(-time.Hour), false)

	tasks := make([][]string, numTasks)
	perTask := n / numTasks
	for i, d := range w.images {
		tasks[i/perTask] = append(tasks[i/perTask], d.String())
	}
	p := fixture.PipelineWithImages("release", tasks)
	pr := &v1.PipelineRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{Name: "release-1", Namespace: "ci"},
		Spec:       v1.PipelineRunSpec{PipelineSpec: &p.Spec},
	}
	run, err := yaml.Marshal(pr)
	if err != nil {
		tb.Fatal(err)
	}

	w.keyPath = w.write(tb, "k.pub", []byte(w.key.PublicPEM))
	w.otherKeyPath = w.write(tb, "other.pub", []byte(w.other.PublicPEM))
	w.policyPath = w.write(tb, "policy.yaml", policyYAML("bench", w.key.PublicPEM))
	w.otherPolicyPath = w.write(tb, "policy-other-key.yaml", policyYAML("bench-other-key", w.other.PublicPEM))
	w.runPath = w.write(tb, "pipelinerun.yaml", run)

	data, err := os.ReadFile(w.policyPath)
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := v1alpha1.ParsePolicy(data)
	if err != nil {
		tb.Fatalf("%s: %v", w.policyPath, err)
	}
	w.spec = &pol.Spec
	docs, err := manifest.Load([]string{w.runPath}, bytes.NewReader(nil))
	if err != nil {
		tb.Fatalf("%s: %v", w.runPath, err)
	}
	w.objs = manifest.Objects(docs)
	if len(w.objs) != 1 {
		tb.Fatalf("%s: %d objects, want the one PipelineRun", w.runPath, len(w.objs))
	}
	return w
}

func (w *world) write(tb testing.TB, file string, data []byte) string {
	tb.Helper()
	p := filepath.Join(w.dir, file)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// policyYAML trusts one key for images and attestations, requires digests,
// a vulnerability scan younger than a week with no CRITICAL or HIGH finding,
// and the restricted Pod Security Standard for every step.
func policyYAML(policyName, publicPEM string) []byte {
	var pem strings.Builder
	for _, l := range strings.Split(strings.TrimRight(publicPEM, "\n"), "\n") {
		pem.WriteString("        " + l + "\n")
	}
	return []byte(fmt.Sprintf(`apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata:
  name: %s
spec:
  mode: Enforce
  authorities:
  - name: release
    key:
      data: |
%s    ignoreTlog: true
  images:
    requireDigest: true
    authorities: [release]
  attestations:
  - name: vulnerability-scan
    type: vuln
    maxAge: 168h
    vulnerabilities:
      deny: [CRITICAL, HIGH]
  securityContext:
    level: restricted
`, policyName, pem.String()))
}
