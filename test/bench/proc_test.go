//go:build bench

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/gate"
)

// deadProxy is where the children's proxy variables point: nothing listens
// there, so any request to a non-loopback address fails at once instead of
// leaving the machine. Go (both CLIs) never proxies loopback addresses, so
// the registry is reached directly.
const deadProxy = "http://127.0.0.1:9"

// procResult is one finished child process.
type procResult struct {
	wall      time.Duration
	maxRSS    int64 // bytes
	user, sys time.Duration
	exit      int
	stdout    []byte
	stderr    []byte
}

// sealedEnv is a minimal environment for a child: an empty HOME and docker
// config (no credentials), no TUF cache, the dead proxy.
func sealedEnv(tb testing.TB) []string {
	tb.Helper()
	home := tb.TempDir()
	for _, d := range []string{"docker", "tuf"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	return []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, "docker"),
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"SIGSTORE_NO_CACHE=true",
		"COSIGN_EXPERIMENTAL=0",
		"NO_COLOR=1",
		"HTTP_PROXY=" + deadProxy, "HTTPS_PROXY=" + deadProxy,
		"http_proxy=" + deadProxy, "https_proxy=" + deadProxy,
		"NO_PROXY=", "no_proxy=",
	}
}

// runner starts children through the spawn helper (test/bench/spawn), so
// that their peak RSS is their own: Go starts children with vfork, and on
// exec Linux folds the parent's peak RSS into the child's ru_maxrss, which
// would report this test process's peak instead.
type runner struct {
	spawn  string
	result string // the helper's JSON result file
	env    []string
	dir    string
}

// run runs one child to completion and measures it: wall time from start
// to exit, peak RSS and CPU time from its rusage.
func (r *runner) run(path string, args ...string) (procResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = os.Remove(r.result)
	cmd := exec.CommandContext(ctx, r.spawn, append([]string{"-o", r.result, "--", path}, args...)...)
	cmd.Env, cmd.Dir = r.env, r.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := procResult{}
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", path, strings.Join(args, " "), err, stderr.Bytes())
	}
	res.stdout, res.stderr = stdout.Bytes(), stderr.Bytes()
	data, err := os.ReadFile(r.result)
	if err != nil {
		return res, err
	}
	var sr struct {
		WallNS   int64 `json:"wallNs"`
		Exit     int   `json:"exit"`
		MaxRSSKB int64 `json:"maxRssKiB"`
		UserNS   int64 `json:"userNs"`
		SysNS    int64 `json:"sysNs"`
	}
	if err := json.Unmarshal(data, &sr); err != nil {
		return res, fmt.Errorf("spawn result %s: %w", r.result, err)
	}
	res.wall, res.exit, res.maxRSS = time.Duration(sr.WallNS), sr.Exit, sr.MaxRSSKB<<10
	res.user, res.sys = time.Duration(sr.UserNS), time.Duration(sr.SysNS)
	return res, nil
}

// cliRuns is (a): `security-gate verify` as a user runs it.
type cliRuns struct {
	runs []procResult
}

func (w *world) cliArgs(policy string) []string {
	return []string{"verify", "--policy", policy, "-f", w.runPath, "-o", "json", "--timeout", "1m"}
}

// runCLI runs security-gate once with the benchmark policy and checks its
// answer: exit 0, verdict pass, all 40 images verified.
func (w *world) runCLI(tb testing.TB, r *runner, bin string) procResult {
	tb.Helper()
	res, err := r.run(bin, w.cliArgs(w.policyPath)...)
	if err != nil {
		tb.Fatal(err)
	}
	var rep gate.Report
	if err := json.Unmarshal(res.stdout, &rep); err != nil {
		tb.Fatalf("security-gate verify: exit %d, stdout is not a JSON report: %v\nstdout: %s\nstderr: %s", res.exit, err, res.stdout, res.stderr)
	}
	if res.exit != 0 || rep.Verdict != gate.VerdictPass || len(rep.VerifiedImages) != w.n || rep.Summary.Images != w.n {
		tb.Fatalf("security-gate verify: exit %d, verdict %q, %d images, %d verified; want exit 0, %q, %d verified\nviolations: %+v\nerrors: %+v\nstderr: %s",
			res.exit, rep.Verdict, rep.Summary.Images, len(rep.VerifiedImages), gate.VerdictPass, w.n, rep.Violations, rep.Errors, res.stderr)
	}
	return res
}

// cliNegativeControl: the same run against a policy trusting a key that
// signed nothing must fail with image-signature violations (exit 1), so the
// timed runs cannot be passing by accident.
func (w *world) cliNegativeControl(tb testing.TB, r *runner, bin string) {
	tb.Helper()
	res, err := r.run(bin, w.cliArgs(w.otherPolicyPath)...)
	if err != nil {
		tb.Fatal(err)
	}
	var rep gate.Report
	if err := json.Unmarshal(res.stdout, &rep); err != nil {
		tb.Fatalf("negative control: stdout is not a JSON report: %v\nstderr: %s", err, res.stderr)
	}
	sigs := 0
	for _, f := range rep.Violations {
		if f.Check == gate.CheckImageSignature {
			sigs++
		}
	}
	if res.exit != 1 || rep.Verdict != gate.VerdictFail || sigs < w.n {
		tb.Fatalf("negative control (policy trusting another key): exit %d, verdict %q, %d image-signature violations; want exit 1, %q, %d",
			res.exit, rep.Verdict, sigs, gate.VerdictFail, w.n)
	}
}

// runVersion runs `bin version`, which must exit 0: a process start and
// nothing else.
func runVersion(tb testing.TB, r *runner, bin string) procResult {
	tb.Helper()
	res, err := r.run(bin, "version")
	if err != nil {
		tb.Fatal(err)
	}
	if res.exit != 0 {
		tb.Fatalf("%s version: exit %d\nstderr: %s", bin, res.exit, res.stderr)
	}
	return res
}

// cosignLoop is (c): per image, sequentially, one `cosign verify` and one
// `cosign verify-attestation --type vuln` process.
type cosignLoop struct {
	total     time.Duration
	cpu       time.Duration // user+sys of all processes
	processes int
	maxRSS    int64
}

func (w *world) cosignArgs(key string) (verify, attest func(img string) []string) {
	verify = func(img string) []string {
		return []string{"verify", "--key", key, "--insecure-ignore-tlog", img}
	}
	attest = func(img string) []string {
		return []string{"verify-attestation", "--key", key, "--insecure-ignore-tlog", "--type", "vuln", img}
	}
	return verify, attest
}

// runCosignLoop runs the loop once; every process must exit 0.
func (w *world) runCosignLoop(tb testing.TB, r *runner, cosign string) cosignLoop {
	tb.Helper()
	verify, attest := w.cosignArgs(w.keyPath)
	var out cosignLoop
	start := time.Now()
	for _, d := range w.images {
		for _, args := range [][]string{verify(d.String()), attest(d.String())} {
			res, err := r.run(cosign, args...)
			if err != nil {
				tb.Fatal(err)
			}
			if res.exit != 0 || len(bytes.TrimSpace(res.stdout)) == 0 {
				tb.Fatalf("cosign %s: exit %d (want 0 and the verified payload on stdout)\nstderr: %s", strings.Join(args, " "), res.exit, res.stderr)
			}
			out.processes++
			out.cpu += res.user + res.sys
			out.maxRSS = max(out.maxRSS, res.maxRSS)
		}
	}
	out.total = time.Since(start)
	return out
}

// cosignNegativeControl: the same commands with a key that signed nothing
// must fail, so the loop's exit codes mean something.
func (w *world) cosignNegativeControl(tb testing.TB, r *runner, cosign string) {
	tb.Helper()
	verify, attest := w.cosignArgs(w.otherKeyPath)
	img := w.images[0].String()
	for _, args := range [][]string{verify(img), attest(img)} {
		res, err := r.run(cosign, args...)
		if err != nil {
			tb.Fatal(err)
		}
		if res.exit == 0 {
			tb.Fatalf("negative control: cosign %s succeeded with a key that signed nothing", strings.Join(args, " "))
		}
	}
}

// median of durations (the mean of the middle two for an even count).
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
