//go:build integration

package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"
)

// TestKoResolve builds the install manifests the way a release does
// (`ko resolve -f config/`), against an in-process registry on loopback, so
// a manifest that does not build (a wrong ko:// path, a broken .ko.yaml)
// fails here rather than at release time. The base image is a tiny
// linux/amd64 image pushed to the same registry (KO_DEFAULTBASEIMAGE), since
// the configured public base cannot be pulled offline.
//
// Needs the ko binary: $KO, or .cache/bin/ko built with
// `cd hack/tools && go build -o ../../.cache/bin/ko github.com/google/ko`.
func TestKoResolve(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ko := os.Getenv("KO")
	if ko == "" {
		ko = filepath.Join(root, ".cache", "bin", "ko")
	}
	if _, err := os.Stat(ko); err != nil {
		t.Fatalf("ko binary not found at %s (build it: cd hack/tools && go build -o ../../.cache/bin/ko github.com/google/ko): %v", ko, err)
	}

	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	// A base image: no layers, linux/amd64, non-root user as the real base.
	cfg, err := empty.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.User = "65532"
	base, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		t.Fatal(err)
	}
	baseRef, err := name.ParseReference(host + "/base/static:nonroot")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(baseRef, base); err != nil {
		t.Fatalf("pushing the base image: %v", err)
	}

	cmd := exec.Command(ko, "resolve", "-f", "config/", "--platform=linux/amd64", "--bare=false")
	cmd.Dir = root
	// VERSION is left unset: a plain build must resolve too (.ko.yaml
	// reads it with index, which tolerates a missing key).
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "VERSION=") && !strings.HasPrefix(e, "KO_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env,
		"KO_DOCKER_REPO="+host+"/security-gate",
		"KO_DEFAULTBASEIMAGE="+baseRef.String(),
		"DOCKER_CONFIG="+t.TempDir(), // no credential helpers from the host
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ko resolve -f config/: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if strings.Contains(out, "ko://") {
		t.Errorf("unresolved ko:// reference left in the output")
	}

	// The controller Deployment's image is now a digest in our registry that
	// exists, runs as non-root and is linux/amd64.
	re := regexp.MustCompile(regexp.QuoteMeta(host) + `/security-gate/[^\s"]*controller[^\s"]*@sha256:[0-9a-f]{64}`)
	img := re.FindString(out)
	if img == "" {
		t.Fatalf("no controller image by digest in the resolved manifests:\n%s", out)
	}
	ref, err := name.NewDigest(img)
	if err != nil {
		t.Fatal(err)
	}
	built, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("reading %s: %v", img, err)
	}
	bc, err := built.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if bc.Platform().String() != (&v1.Platform{OS: "linux", Architecture: "amd64"}).String() || bc.Config.User != "65532" {
		t.Errorf("built image platform %s user %q, want linux/amd64 user 65532", bc.Platform(), bc.Config.User)
	}

	// Every document is still valid YAML naming a kind, and the objects a
	// release needs are there.
	kinds := map[string]bool{}
	for _, doc := range strings.Split(out, "\n---\n") {
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if strings.TrimSpace(doc) == "" {
			continue
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("resolved document is not YAML: %v\n%s", err, doc)
		}
		kinds[m.Kind+"/"+m.Metadata.Name] = true
	}
	for _, want := range []string{
		"Namespace/security-gate", "ServiceAccount/security-gate-controller",
		"ClusterRole/security-gate-controller-cluster-access", "ClusterRole/security-gate-controller-tenant-access",
		"ConfigMap/config-security-gate", "ConfigMap/config-logging", "ConfigMap/config-observability",
		"ConfigMap/config-leader-election", "Deployment/security-gate-controller",
	} {
		if !kinds[want] {
			t.Errorf("%s missing from the resolved manifests", want)
		}
	}
}
