//go:build bench

package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Targets of issue 3. They are printed (met / NOT met), never asserted.
const (
	targetRatio   = 40.0                   // (a) at least this many times faster than (c)
	targetWarm    = 5 * time.Millisecond   // (b) per pipeline
	targetPeakRSS = int64(100 * (1 << 20)) // (a) peak memory
)

// newTable formats the figures, ratios and target checks with the date and
// the machine they were measured on.
func newTable(a cliRuns, b testing.BenchmarkResult, c []cosignLoop, cosign, loadBefore string) string {
	var aWall, aCPU []time.Duration
	var aRSS int64
	for _, r := range a.runs {
		aWall = append(aWall, r.wall)
		aCPU = append(aCPU, r.user+r.sys)
		aRSS = max(aRSS, r.maxRSS)
	}
	var cWall, cCPU []time.Duration
	var cRSS int64
	procs := 0
	for _, l := range c {
		cWall = append(cWall, l.total)
		cCPU = append(cCPU, l.cpu)
		cRSS = max(cRSS, l.maxRSS)
		procs = l.processes
	}
	aMed, cMed := median(aWall), median(cWall)
	bPerOp := time.Duration(b.T.Nanoseconds() / int64(b.N))
	ratio := float64(cMed) / float64(aMed)
	cpuRatio := float64(median(cCPU)) / float64(median(aCPU))

	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("")
	line("security-gate benchmark (issue 3, Performance)")
	line("  date      %s", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	line("  machine   nproc %s, %s; load average %s before, %s after", nproc(), cpuModel(), loadBefore, loadAvg())
	line("  go        %s %s/%s; %s", runtime.Version(), runtime.GOOS, runtime.GOARCH, cosignVersion(cosign))
	line("  workload  %d images, each with a cosign signature and a signed vuln attestation (clean Trivy", numImages)
	line("            scan), classic layout; a %d-task PipelineRun (embedded pipelineSpec, %d images per task,", numTasks, imagesPerTask)
	line("            restricted securityContexts); registry on 127.0.0.1 in the test process")
	line("")
	row := func(name, t, rss string) { line("  %-66s %10s %10s", name, t, rss) }
	row("", "time", "peak RSS")
	row(fmt.Sprintf("(a) security-gate verify, cold process, median of %d", len(a.runs)), ms(aMed), mib(aRSS))
	row("(b) warm cache, in-process (BenchmarkWarmPipeline), per run", ms(bPerOp), "-")
	row(fmt.Sprintf("(c) cosign verify + verify-attestation, %d processes, median of %d", procs, len(c)), sec(cMed), mib(cRSS))
	line("")
	line("  (a) wall %s; CPU user+sys median %s; %d/%d images verified, verdict pass", list(aWall, ms), ms(median(aCPU)), numImages, numImages)
	line("  (b) N=%d; %d allocs/op, %s/op; %.0f registry requests/op", b.N, b.AllocsPerOp(), kib(b.AllocedBytesPerOp()), b.Extra["requests/op"])
	line("  (c) wall %s (%s per image); CPU user+sys median %s", list(cWall, sec), ms(cMed/time.Duration(numImages)), sec(median(cCPU)))
	line("")
	line("  ratio (c)/(a): %.1fx wall time, %.1fx CPU time", ratio, cpuRatio)
	line("")
	line("  %-44s %10s  %s", "target", "measured", "status")
	target := func(name, measured string, ok bool) { line("  %-44s %10s  %s", name, measured, met(ok)) }
	target(fmt.Sprintf("(a) at least %.0fx faster than (c)", targetRatio), fmt.Sprintf("%.1fx", ratio), ratio >= targetRatio)
	target(fmt.Sprintf("(b) under %s for the whole pipeline", ms(targetWarm)), ms(bPerOp), bPerOp < targetWarm)
	target(fmt.Sprintf("(a) peak RSS under %s", mib(targetPeakRSS)), mib(aRSS), aRSS < targetPeakRSS)
	return s.String()
}

// compareLine reports BENCH_COMPARE's runs next to (a)'s.
func compareLine(a, a2 cliRuns, path string) string {
	stats := func(c cliRuns) (wall, cpu time.Duration, rss int64) {
		var ws, cs []time.Duration
		for _, r := range c.runs {
			ws, cs = append(ws, r.wall), append(cs, r.user+r.sys)
			rss = max(rss, r.maxRSS)
		}
		return median(ws), median(cs), rss
	}
	w1, c1, r1 := stats(a)
	w2, c2, r2 := stats(a2)
	return fmt.Sprintf("\n  compare (interleaved runs, medians):\n"+
		"    (a)  %-40s wall %s, CPU %s, peak RSS %s\n"+
		"    (a') %-40s wall %s, CPU %s, peak RSS %s\n"+
		"    (a') vs (a): wall %+.1f%%, CPU %+.1f%%\n",
		"BENCH_SECURITY_GATE", ms(w1), ms(c1), mib(r1), path, ms(w2), ms(c2), mib(r2),
		100*(float64(w2)/float64(w1)-1), 100*(float64(c2)/float64(c1)-1))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f ms", float64(d)/1e6)
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func kib(b int64) string { return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10)) }

func list(ds []time.Duration, f func(time.Duration) string) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = f(d)
	}
	return strings.Join(parts, ", ")
}

func nproc() string {
	if out, err := exec.Command("nproc").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return fmt.Sprint(runtime.NumCPU())
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cosignVersion is the GitVersion line of `cosign version`.
func cosignVersion(path string) string {
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil {
		return "cosign (version unknown)"
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "GitVersion:"); ok {
			return "cosign " + strings.TrimSpace(v)
		}
	}
	return "cosign (version unknown)"
}
