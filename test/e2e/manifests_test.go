//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/security-gate/security-gate/test/e2e/framework"
)

// The release manifests build with ko against the
// loopback registry, and the API server accepts every resolved object
// (server-side apply, dry run), the controller's Deployment included.
func TestManifests(t *testing.T) {
	ko := os.Getenv("KO")
	if ko == "" {
		ko = filepath.Join(env.BinDir, "ko")
	}
	if _, err := os.Stat(ko); err != nil {
		t.Fatalf("ko not found at %s (hack/e2e-tools.sh builds it): %v", ko, err)
	}
	// The configured public base image cannot be pulled offline: a tiny
	// non-root linux/amd64 base in the loopback registry stands in.
	cfg, err := empty.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Config.User = "linux", "amd64", "65532"
	base, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		t.Fatal(err)
	}
	baseRef, err := name.ParseReference(env.Registry.Host + "/base/static:nonroot")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(baseRef, base); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(ko, "resolve", "-f", "config/", "--platform=linux/amd64")
	cmd.Dir = env.Root
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KO_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	repo := env.Registry.Host + "/security-gate"
	cmd.Env = append(cmd.Env, "KO_DOCKER_REPO="+repo, "KO_DEFAULTBASEIMAGE="+baseRef.String(), "DOCKER_CONFIG="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ko resolve -f config/: %v\n%s", err, stderr.String())
	}
	objs, err := framework.DecodeYAML(stdout.Bytes())
	if err != nil {
		t.Fatalf("ko resolve output: %v", err)
	}
	var deployments []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			deployments = append(deployments, o)
		}
	}
	if len(deployments) != 1 {
		t.Fatalf("ko resolve output has %d Deployments, want 1 (the controller)", len(deployments))
	}
	containers, _, _ := unstructured.NestedSlice(deployments[0].Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		t.Fatalf("Deployment %s has no containers", deployments[0].GetName())
	}
	img, _ := containers[0].(map[string]any)["image"].(string)
	if !strings.HasPrefix(img, repo+"/") || !strings.Contains(img, "@sha256:") {
		t.Fatalf("Deployment %s image = %q, want a digest under %s", deployments[0].GetName(), img, repo)
	}
	if err := env.DryRunApply(context.Background(), objs); err != nil {
		t.Fatalf("server-side dry-run apply of the resolved manifests:\n%v", err)
	}
}
