//go:build integration

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/bundle"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/verify"
	"github.com/security-gate/security-gate/test/fixture"
)

const version = "v0.0.0-test"

// TestRelease runs the real hack/release.sh end to end against a loopback
// registry: ko builds the controller and the CLI on a tiny base image pushed
// there, the Task is pushed as a bundle with bundle-push and signed with the
// cosign v2 CLI (no transparency log: nothing may leave loopback). It then
// proves what a user of the release relies on: every image is pinned by a
// digest that exists, the bundle follows the Tekton contract as our own
// reader sees it, and its signature verifies with the release key only.
//
// Needs .cache/bin/ko and .cache/bin/cosign2 (hack/build-test-tools.sh).
func TestRelease(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cosign := filepath.Join(root, ".cache", "bin", "cosign2")
	for _, b := range []string{cosign, filepath.Join(root, ".cache", "bin", "ko")} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%v; build it with hack/build-test-tools.sh", err)
		}
	}
	reg := fixture.NewRegistry(t, false)
	base := pushBase(t, reg.Repo("base/static:nonroot"))
	home := t.TempDir()
	env := releaseEnv(t, home)

	// The release key and another one, made by the CLI a release uses.
	release, other := filepath.Join(home, "release"), filepath.Join(home, "other")
	for _, dir := range []string{release, other} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		runCmd(t, dir, env, cosign, "generate-key-pair")
	}
	releasePub, otherPub := readText(t, filepath.Join(release, "cosign.pub")), readText(t, filepath.Join(other, "cosign.pub"))

	// Missing settings fail before anything is built, naming the variable.
	for _, tc := range []struct{ name, drop, want string }{
		{"no KO_DOCKER_REPO", "KO_DOCKER_REPO=", "KO_DOCKER_REPO is not set"},
		{"no VERSION", "VERSION=", "VERSION is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e []string
			for _, kv := range append(env, "KO_DOCKER_REPO="+reg.Repo("security-gate"), "VERSION="+version) {
				if !strings.HasPrefix(kv, tc.drop) {
					e = append(e, kv)
				}
			}
			out, err := tryCmd(root, e, filepath.Join(root, "hack", "release.sh"))
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("release.sh without %s: err=%v, want a failure saying %q:\n%s", tc.drop, err, tc.want, out)
			}
		})
	}

	outDir := t.TempDir()
	out := runCmd(t, root, append(env,
		"KO_DOCKER_REPO="+reg.Repo("security-gate"),
		"VERSION="+version,
		"KO_DEFAULTBASEIMAGE="+base,
		"PLATFORMS=linux/amd64",
		"OUTPUT_DIR="+outDir,
		"COSIGN_KEY="+filepath.Join(release, "cosign.key"),
		"RELEASE_TLOG=false",
	), filepath.Join(root, "hack", "release.sh"))
	t.Logf("release.sh output:\n%s", out)
	if !strings.Contains(out, "NOT uploading to the transparency log") {
		t.Errorf("release output does not say the transparency log was skipped")
	}

	ctx := context.Background()
	digestRe := regexp.MustCompile(regexp.QuoteMeta(reg.Host) + `/[^\s"@]+@sha256:[0-9a-f]{64}`)

	// release.yaml: no ko:// left, every image by digest, and it exists.
	manifests := readText(t, filepath.Join(outDir, "release.yaml"))
	if strings.Contains(manifests, "ko://") {
		t.Errorf("release.yaml still holds a ko:// reference")
	}
	images := imageFields(manifests)
	if len(images) == 0 {
		t.Fatalf("release.yaml names no image:\n%s", manifests)
	}
	for _, img := range images {
		if !digestRe.MatchString(img) || !strings.Contains(img, "/security-gate/controller") {
			t.Errorf("release.yaml image %q: expected %s/security-gate/controller...@sha256:<digest>", img, reg.Host)
			continue
		}
		assertExists(t, digestRe.FindString(img))
	}

	// The Task: its step image is the CLI, pinned by a digest that exists.
	taskYAML := readText(t, filepath.Join(outDir, "dist", "security-gate-task.yaml"))
	var task pipelinev1.Task
	if err := yaml.Unmarshal([]byte(taskYAML), &task); err != nil {
		t.Fatalf("dist/security-gate-task.yaml: %v", err)
	}
	if task.Name != "security-gate" || len(task.Spec.Steps) == 0 {
		t.Fatalf("dist/security-gate-task.yaml: expected Task security-gate with steps, got %s %q", task.Kind, task.Name)
	}
	stepImage := task.Spec.Steps[0].Image
	if !digestRe.MatchString(stepImage) || !strings.Contains(stepImage, "/security-gate/security-gate") {
		t.Fatalf("Task step image %q: expected %s/security-gate/security-gate...@sha256:<digest>", stepImage, reg.Host)
	}
	assertExists(t, digestRe.FindString(stepImage))

	// The bundle: printed by digest, tagged VERSION, a valid Tekton bundle.
	m := regexp.MustCompile(`(?m)^\s*task bundle:\s+(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("release output names no task bundle:\n%s", out)
	}
	d, err := name.NewDigest(m[1])
	if err != nil {
		t.Fatalf("task bundle %q is not a digest reference: %v", m[1], err)
	}
	if want := reg.Repo("security-gate/task/security-gate"); d.Context().String() != want {
		t.Errorf("task bundle repository %s, want %s", d.Context(), want)
	}
	tagged, err := remote.Head(d.Context().Tag(version))
	if err != nil || tagged.Digest.String() != d.DigestStr() {
		t.Errorf("tag %s: %v, digest %v, want %s", version, err, tagged, d.DigestStr())
	}
	if got := strings.TrimSpace(readText(t, filepath.Join(outDir, "dist", "security-gate-task.bundle"))); got != d.String() {
		t.Errorf("dist/security-gate-task.bundle holds %q, want %q", got, d)
	}
	client, err := oci.New(oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Read(ctx, client, d)
	if err != nil {
		t.Fatalf("bundle.Read(%s): %v", d, err)
	}
	if len(b.Problems) > 0 {
		t.Fatalf("bundle %s breaks the Tekton bundle contract:\n%s", d, strings.Join(b.Problems, "\n"))
	}
	if len(b.Objects) != 1 {
		t.Errorf("bundle %s holds %d objects, want 1", d, len(b.Objects))
	}
	o, ok := b.Find("task", "security-gate")
	if !ok {
		t.Fatalf("bundle %s holds no Task security-gate", d)
	}
	if o.APIVersion != "v1" {
		t.Errorf("bundle layer apiVersion annotation %q, want v1", o.APIVersion)
	}
	bt, ok := o.Object.(*pipelinev1.Task)
	if !ok {
		t.Fatalf("bundle Task decodes as %T, want *v1.Task", o.Object)
	}
	if got := bt.Spec.Steps[0].Image; got != stepImage {
		t.Errorf("bundle Task step image %q, want the released %q", got, stepImage)
	}

	// The signature: verifies with the release key, not with another.
	for _, tc := range []struct {
		name      string
		pub       string
		wantCheck string
	}{
		{"release key", releasePub, ""},
		{"another key", otherPub, gate.CheckBundleSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &v1alpha1.SecurityGateSpec{
				Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: tc.pub}, IgnoreTlog: true}},
				Bundles:     &v1alpha1.BundlePolicy{Required: true, RequireDigest: true, Authorities: []string{"release"}},
			}
			v, err := verify.New(spec, verify.Options{Client: client, Cache: verify.NewCache(16, time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			findings, err := v.VerifyBundle(ctx, d.String())
			if err != nil {
				t.Fatalf("VerifyBundle(%s): %v", d, err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, f.Check+": "+f.Message)
			}
			switch {
			case tc.wantCheck == "" && len(findings) > 0:
				t.Errorf("bundle %s with the release key: unexpected findings:\n%s", d, strings.Join(got, "\n"))
			case tc.wantCheck != "" && (len(findings) != 1 || findings[0].Check != tc.wantCheck):
				t.Errorf("bundle %s with another key: findings %q, want one %s", d, got, tc.wantCheck)
			}
		})
	}
}

// pushBase pushes a layerless linux/amd64 non-root image to ref, the
// offline stand-in for .ko.yaml's base.
func pushBase(t *testing.T, ref string) string {
	t.Helper()
	cfg, err := empty.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.User = "65532"
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing the base image: %v", err)
	}
	return r.String()
}

// releaseEnv is the environment release.sh runs in: Go's caches from the
// host (so builds are warm and offline), nothing else inherited (no
// registry credentials, no KO_/COSIGN_ settings), and proxies pointing at a
// closed loopback port so any attempt to leave loopback fails (Go never
// proxies loopback, so the test registry stays reachable).
func releaseEnv(t *testing.T, home string) []string {
	t.Helper()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, "docker"),
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"SIGSTORE_NO_CACHE=true",
		"COSIGN_PASSWORD=",
		"COSIGN_EXPERIMENTAL=0",
		"HTTPS_PROXY=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9",
		"GOPROXY=off",
		"GOTOOLCHAIN=local",
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOROOT"} {
		v, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(v)))
	}
	return env
}

func runCmd(t *testing.T, dir string, env []string, bin string, args ...string) string {
	t.Helper()
	out, err := tryCmd(dir, env, bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	if strings.Contains(out, "127.0.0.1:9") {
		t.Fatalf("%s %s tried to reach the network:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
	return out
}

func tryCmd(dir string, env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// imageFields returns the value of every `image:` field in YAML text.
func imageFields(text string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:-\s+)?image:\s*["']?([^\s"']+)`).FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// assertExists fails unless the digest reference names a manifest in the
// registry.
func assertExists(t *testing.T, ref string) {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Errorf("%q: %v", ref, err)
		return
	}
	if _, err := remote.Head(d); err != nil {
		t.Errorf("%s does not exist in the registry: %v", d, err)
	}
}
