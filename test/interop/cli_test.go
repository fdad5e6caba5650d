//go:build integration

package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// repoRoot is the module root, two levels above this package.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// cosignCLI is one real cosign binary run in a sealed environment.
type cosignCLI struct {
	name string
	path string
	env  []string
	dir  string
}

func newCLI(t *testing.T, name, envVar string) *cosignCLI {
	t.Helper()
	p := os.Getenv(envVar)
	if p == "" {
		p = filepath.Join(repoRoot(), ".cache", "bin", name)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v; build it with hack/build-test-tools.sh (or set %s)", name, err, envVar)
	}
	home := t.TempDir()
	for _, d := range []string{"tuf", "docker"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A minimal environment: nothing inherited (no credentials), no TUF
	// cache, keys protected by an empty password, no prompts. The proxy
	// points at a closed loopback port, so any attempt to reach beyond
	// loopback (a TUF refresh, Rekor, Fulcio) fails the command instead of
	// going out; Go never proxies loopback, so the registry stays reachable.
	env := []string{
		"HTTPS_PROXY=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9",
		"PATH=/usr/bin:/bin",
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, "docker"),
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"SIGSTORE_NO_CACHE=true",
		"COSIGN_PASSWORD=",
		"COSIGN_YES=true",
		"COSIGN_EXPERIMENTAL=0",
	}
	return &cosignCLI{name: name, path: p, env: env, dir: home}
}

// run runs the CLI and fails the test with its output when it fails.
func (c *cosignCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.try(args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	// Some lookups (TUF) only warn when they fail; a warning naming the
	// closed proxy means the CLI tried to leave loopback.
	if strings.Contains(out, "127.0.0.1:9") {
		t.Fatalf("%s %s tried to reach the network:\n%s", c.name, strings.Join(args, " "), out)
	}
	return out
}

func (c *cosignCLI) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env, cmd.Dir = c.env, c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// startRegistry serves a registry on 127.0.0.1 and returns its host:port.
func startRegistry(t *testing.T, referrers bool) string {
	t.Helper()
	var opts []registry.Option
	opts = append(opts, registry.Logger(log.New(io.Discard, "", 0)))
	if referrers {
		opts = append(opts, registry.WithReferrersSupport(true))
	}
	s := httptest.NewServer(registry.New(opts...))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// pushImage writes a fresh random image to host/repo:tag and returns its
// digest reference.
func pushImage(t *testing.T, host, repo string) string {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(fmt.Sprintf("%s/%s:v1", host, repo))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String()).String()
}

// keyPair is a cosign key pair on disk (private key encrypted with the
// empty password) and its public PEM.
type keyPair struct {
	keyPath string
	pub     string
}

func newKeyPair(t *testing.T, dir, name string) keyPair {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".key")
	if err := os.WriteFile(p, kb.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyPair{keyPath: p, pub: string(kb.PublicBytes)}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
