//go:build e2e

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/security-gate/security-gate/examples"
	"github.com/security-gate/security-gate/test/e2e/framework"
)

// cosignCLI runs the cosign v2 CLI that hack/build-test-tools.sh builds, as
// a newcomer following examples/README.md would.
type cosignCLI struct {
	bin string
	dir string // holds cosign.key, cosign.pub and cosign's own state
}

func (c *cosignCLI) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	// An empty password for the generated key; HOME and TUF_ROOT inside the
	// work directory so nothing outside it is read or written.
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+c.dir, "TUF_ROOT="+filepath.Join(c.dir, "tuf"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *cosignCLI) keyPair(ctx context.Context) (publicPEM string, err error) {
	if err := c.run(ctx, "generate-key-pair", "--output-key-prefix", "cosign"); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "cosign.pub"))
	return string(b), err
}

// sign signs ref (repo@sha256:…) with the key, offline: no transparency log
// (the policy says ignoreTlog).
func (c *cosignCLI) sign(ctx context.Context, ref string) error {
	return c.run(ctx, "sign", "--key", "cosign.key", "--tlog-upload=false", "--yes", ref)
}

// attestVuln attaches the example vuln predicate, signed with the key.
func (c *cosignCLI) attestVuln(ctx context.Context, ref, predicate string) error {
	return c.run(ctx, "attest", "--key", "cosign.key", "--type", "vuln", "--predicate", predicate,
		"--tlog-upload=false", "--yes", ref)
}

// published is what the demo put in the registry.
type published struct {
	vars map[string]string // the examples' placeholders, with their values
}

// digestOf returns the sha256:… of a repo@sha256:… reference.
func digestOf(ref string) string { return ref[strings.LastIndex(ref, "@")+1:] }

// publish pushes and signs everything examples/README.md steps 1 to 5 do.
func publish(ctx context.Context, env *framework.Env, cosign *cosignCLI, say func(string, ...any)) (*published, error) {
	pub, err := cosign.keyPair(ctx)
	if err != nil {
		return nil, err
	}
	say("step 1  cosign key pair generated: %s", filepath.Join(cosign.dir, "cosign.pub"))
	vars := map[string]string{
		"REGISTRY":      env.Registry.Host,
		"PUBLIC_KEY":    pub,
		"SCAN_FINISHED": time.Now().UTC().Format(time.RFC3339),
	}
	predicate, err := examples.RenderFile("vuln-scan.json", vars)
	if err != nil {
		return nil, err
	}
	predFile := filepath.Join(cosign.dir, "vuln-scan.json")
	if err := os.WriteFile(predFile, predicate, 0o600); err != nil {
		return nil, err
	}

	// Step images and the app: random images stand in for real ones; the
	// gate only cares about their digests, signatures and attestations.
	for _, im := range []struct{ repo, placeholder string }{
		{"demo/builder", "DIGEST_BUILDER"}, {"demo/deployer", "DIGEST_DEPLOYER"}, {"demo/app", "DIGEST_APP"},
	} {
		ref, err := pushRandom(env, im.repo+":latest")
		if err != nil {
			return nil, err
		}
		if err := cosign.sign(ctx, ref); err != nil {
			return nil, err
		}
		if err := cosign.attestVuln(ctx, ref, predFile); err != nil {
			return nil, err
		}
		vars[im.placeholder] = digestOf(ref)
		say("step 4  image %s signed, vuln attestation attached", ref)
	}
	if _, err := pushRandom(env, "demo/unsigned:latest"); err != nil {
		return nil, err
	}
	say("        image %s/demo/unsigned:latest pushed, NOT signed (non-compliant sample)", env.Registry.Host)

	// Bundles, in dependency order: a pipeline names its tasks bundle's digest.
	for _, b := range []struct {
		file, repoTag, placeholder string
		sign                       bool
	}{
		{"tasks.yaml", "demo/tasks:0.1", "DIGEST_TASKS", true},
		{"pipeline.yaml", "demo/pipeline:0.1", "DIGEST_PIPELINE", true},
		{"noncompliant/tasks.yaml", "demo/unsafe-tasks:0.1", "DIGEST_UNSAFE_TASKS", false},
		{"noncompliant/pipeline.yaml", "demo/unsafe-pipeline:0.1", "DIGEST_UNSAFE_PIPELINE", false},
	} {
		y, err := examples.RenderFile(b.file, vars)
		if err != nil {
			return nil, err
		}
		ref, err := env.Registry.PushBundle(b.repoTag, string(y))
		if err != nil {
			return nil, fmt.Errorf("push bundle examples/%s: %w", b.file, err)
		}
		vars[b.placeholder] = digestOf(ref)
		if !b.sign {
			say("        bundle %s (examples/%s) pushed, NOT signed", ref, b.file)
			continue
		}
		if err := cosign.sign(ctx, ref); err != nil {
			return nil, err
		}
		step := "5"
		if b.file == "tasks.yaml" {
			step = "3"
		}
		say("step %s  bundle %s (examples/%s) pushed and signed", step, ref, b.file)
	}
	return &published{vars: vars}, nil
}

func pushRandom(env *framework.Env, repoTag string) (string, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return "", err
	}
	ref, err := env.Registry.PushImage(repoTag, img)
	if err != nil {
		return "", err
	}
	// The registry answers for what was pushed: a sanity check that the
	// digest the examples will pin is the one served.
	d, err := name.NewDigest(ref)
	if err != nil {
		return "", err
	}
	if _, err := remote.Head(d); err != nil {
		return "", fmt.Errorf("pushed %s but the registry does not serve it: %w", ref, err)
	}
	return ref, nil
}
