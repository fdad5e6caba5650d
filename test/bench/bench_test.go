//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/security-gate/security-gate/pkg/bundle"
	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
	secoci "github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/verify"
)

// Environment of TestBench (hack/bench.sh sets them).
const (
	envCLI         = "BENCH_SECURITY_GATE" // security-gate binary (default: go build it)
	envSpawn       = "BENCH_SPAWN"         // test/bench/spawn binary (default: go build it)
	envCompare     = "BENCH_COMPARE"       // optional second security-gate, measured like (a), interleaved
	envCosign      = "BENCH_COSIGN"        // cosign v2 binary (default .cache/bin/cosign2)
	envReport      = "BENCH_REPORT"        // also write the table to this file
	envCLIRuns     = "BENCH_CLI_RUNS"      // measured runs of (a), default 9
	envRounds      = "BENCH_COSIGN_ROUNDS" // rounds of (c), default 3
	envScaleRuns   = "BENCH_SCALE_RUNS"    // measured runs of (d), default 3
	envProfileRuns = "BENCH_PROFILE_RUNS"  // cold verifications under the CPU profiler, default 100
)

// TestBench runs (a), (b) and (c) on the 40-image world and (d) on the
// 400-image one, and prints the table. It fails only when something does
// not verify (or a negative control passes), never because of a timing.
func TestBench(t *testing.T) {
	cli := binary(t, envCLI, "", "./cmd/security-gate")
	spawn := binary(t, envSpawn, "", "./test/bench/spawn")
	cosign := binary(t, envCosign, filepath.Join(repoRoot(t), ".cache", "bin", "cosign2"), "")
	w := newWorld(t, numImages)
	ws := newWorld(t, numScaleImages)
	env := sealedEnv(t)
	r := &runner{spawn: spawn, result: filepath.Join(t.TempDir(), "spawn.json"), env: env, dir: w.dir}
	rs := &runner{spawn: spawn, result: filepath.Join(t.TempDir(), "spawn.json"), env: env, dir: ws.dir}

	// Checks first, outside the measurements: one run of each that must
	// pass and one that must fail (a key that signed nothing). They also
	// load both binaries into the page cache, as a CI runner that pulled
	// its image would have them.
	w.runCLI(t, r, cli)
	w.cliNegativeControl(t, r, cli)
	w.cosignNegativeControl(t, r, cosign)
	ws.runCLI(t, rs, cli)

	// (a) cold CLI processes, (d) the 400-image run and (c) cosign loops,
	// interleaved so that all see the same load on a shared machine.
	// BENCH_COMPARE (another build of the CLI, e.g. with a proposed change)
	// runs right after each run of (a).
	compare := os.Getenv(envCompare)
	if compare != "" {
		w.runCLI(t, r, compare)
	}
	loadBefore := loadAvg()
	runsA, roundsC, runsD := envInt(t, envCLIRuns, 9), envInt(t, envRounds, 3), envInt(t, envScaleRuns, 3)
	var a, a2, d cliRuns
	var c []cosignLoop
	// Beside each run of (a), one `version` of each CLI: a process that
	// starts and does nothing else, so the table can say how much of (a)
	// and (c) is process start.
	var startA, startC cliRuns
	runA := func() {
		a.runs = append(a.runs, w.runCLI(t, r, cli))
		if compare != "" {
			a2.runs = append(a2.runs, w.runCLI(t, r, compare))
		}
		startA.runs = append(startA.runs, runVersion(t, r, cli))
		startC.runs = append(startC.runs, runVersion(t, r, cosign))
	}
	for k := 0; k < roundsC; k++ {
		for len(a.runs) < (k+1)*runsA/roundsC {
			runA()
		}
		for len(d.runs) < (k+1)*runsD/roundsC {
			d.runs = append(d.runs, ws.runCLI(t, rs, cli))
		}
		c = append(c, w.runCosignLoop(t, r, cosign))
	}
	for len(a.runs) < runsA {
		runA()
	}
	for len(d.runs) < runsD {
		d.runs = append(d.runs, ws.runCLI(t, rs, cli))
	}
	loadAfter := loadAvg()

	// (b) warm, in-process: BenchmarkWarmPipeline's body, on this world.
	warm := w.prime(t)
	b := testing.Benchmark(func(b *testing.B) { warmPipeline(b, w, warm) })
	if b.N == 0 {
		t.Fatalf("BenchmarkWarmPipeline failed: %s", w.failure)
	}

	// Where (a)'s time goes: its verification, profiled in-process.
	prof := w.profileCold(t, envInt(t, envProfileRuns, 100))

	tab := newTable(figures{a: a, b: b, c: c, d: d, startA: startA, startC: startC, cosign: cosign, loadBefore: loadBefore, loadAfter: loadAfter, prof: prof})
	if compare != "" {
		tab += compareLine(a, a2, compare)
	}
	os.Stdout.WriteString(tab)
	if p := os.Getenv(envReport); p != "" {
		if err := os.WriteFile(p, []byte(tab), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkWarmPipeline is (b): the 40-image, 20-task PipelineRun verified
// in-process with a verification cache primed once. Each op builds a new
// verifier, resolver and engine as the CLI and the controller do per run;
// the registry client and the cache are shared.
//
//	go test -tags bench -run '^$' -bench BenchmarkWarmPipeline ./test/bench
func BenchmarkWarmPipeline(b *testing.B) {
	w := newWorld(b, numImages)
	warm := w.prime(b)
	b.Run("40-images", func(b *testing.B) { warmPipeline(b, w, warm) })
}

// BenchmarkColdPipeline is (a) without the process: a new registry client
// (transport, token, ping) and an empty cache every op. Subtracted from (a),
// it shows what process start, reading the files and printing cost; with
// -cpuprofile it shows where a cold verification spends its time.
//
//	go test -tags bench -run '^$' -bench BenchmarkColdPipeline -cpuprofile cpu.out ./test/bench
func BenchmarkColdPipeline(b *testing.B) {
	w := newWorld(b, numImages)
	b.Run("40-images", func(b *testing.B) {
		w.reg.ResetCounts()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w.mustPass(b, w.verifyOnce(b, w.newSession(b)))
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
		b.ReportMetric(float64(w.reg.Requests())/float64(b.N), "requests/op")
	})
}

// session is what runs in one process share: the registry client
// (transport, puller) and the verification cache.
type session struct {
	cache  *verify.Cache
	client *secoci.Client
}

// newSession returns a new registry client (anonymous, as the CLI is with
// an empty docker config) and an empty cache.
func (w *world) newSession(tb testing.TB) session {
	tb.Helper()
	c, err := secoci.New(secoci.Options{Keychain: authn.NewMultiKeychain(), Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return session{cache: verify.NewCache(defaults.CacheSize, defaults.CacheTTL), client: c}
}

// prime verifies the run once with a fresh cache.
func (w *world) prime(tb testing.TB) session {
	tb.Helper()
	wc := w.newSession(tb)
	w.mustPass(tb, w.verifyOnce(tb, wc))
	return wc
}

func warmPipeline(b *testing.B, w *world, wc session) {
	w.reg.ResetCounts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.mustPass(b, w.verifyOnce(b, wc))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
	b.ReportMetric(float64(w.reg.Requests())/float64(b.N), "requests/op")
}

// verifyOnce wires a run exactly as cmd/security-gate does for -f inputs.
func (w *world) verifyOnce(tb testing.TB, wc session) *gate.Report {
	v, err := verify.New(w.spec, verify.Options{Client: wc.client, Cache: wc.cache})
	if err != nil {
		tb.Fatal(err)
	}
	byName, err := local.New(w.objs)
	if err != nil {
		tb.Fatal(err)
	}
	e := gate.New(gate.Options{Resolver: gate.Chain(byName, bundle.NewResolver(v.Client())), Verifier: v})
	return e.Verify(context.Background(), w.spec, gate.Input{Objects: w.objs})
}

func (w *world) mustPass(tb testing.TB, rep *gate.Report) {
	if rep.Verdict != gate.VerdictPass || len(rep.VerifiedImages) != w.n {
		// testing.Benchmark drops a failed benchmark's log: keep the reason.
		w.failure = fmt.Sprintf("in-process verify: verdict %q, %d verified images, want %q and %d\nviolations: %+v\nerrors: %+v",
			rep.Verdict, len(rep.VerifiedImages), gate.VerdictPass, w.n, rep.Violations, rep.Errors)
		tb.Fatal(w.failure)
	}
}

// binary returns the path in env var name, else def, else (def empty) pkg
// built now (with the bench tag for this package's own commands).
func binary(t *testing.T, name, def, pkg string) string {
	t.Helper()
	p := os.Getenv(name)
	if p == "" && def == "" {
		p = filepath.Join(t.TempDir(), filepath.Base(pkg))
		args := []string{"build", "-o", p, pkg}
		if strings.HasPrefix(pkg, "./test/bench/") {
			args = []string{"build", "-tags", "bench", "-o", p, pkg}
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		return p
	}
	if p == "" {
		p = def
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v (build it with hack/build-test-tools.sh, or set %s)", p, err, name)
	}
	return p
}

func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
