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

// Targets, printed (met / NOT met), never asserted.
const (
	targetRatio    = 100.0                  // (a) at least this many times faster than (c), wall time
	targetScale    = 10.0                   // (d) under this many times (a)'s time
	targetWarm     = 5 * time.Millisecond   // (b) per pipeline
	targetPeakRSS  = int64(100 * (1 << 20)) // (a) and (d) peak memory
	scaleImageRate = numScaleImages / numImages
)

// figures are the measurements of one TestBench.
type figures struct {
	a, d                  cliRuns // 40 images, 400 images
	startA, startC        cliRuns // `version` of security-gate and of cosign: process start
	b                     testing.BenchmarkResult
	c                     []cosignLoop
	cosign                string
	loadBefore, loadAfter string
	prof                  coldProfile // the cold verification in-process, under the CPU profiler
}

func (r cliRuns) stats() (wall, cpu []time.Duration, rss int64) {
	for _, p := range r.runs {
		wall = append(wall, p.wall)
		cpu = append(cpu, p.user+p.sys)
		rss = max(rss, p.maxRSS)
	}
	return wall, cpu, rss
}

// newTable formats the figures, ratios and target checks with the date and
// the machine they were measured on.
func newTable(f figures) string {
	aWall, aCPU, aRSS := f.a.stats()
	dWall, dCPU, dRSS := f.d.stats()
	var cWall, cCPU []time.Duration
	var cRSS int64
	procs := 0
	for _, l := range f.c {
		cWall = append(cWall, l.total)
		cCPU = append(cCPU, l.cpu)
		cRSS = max(cRSS, l.maxRSS)
		procs = l.processes
	}
	aMed, cMed, dMed := median(aWall), median(cWall), median(dWall)
	bPerOp := time.Duration(f.b.T.Nanoseconds() / int64(f.b.N))
	ratio := float64(cMed) / float64(aMed)
	cpuRatio := float64(median(cCPU)) / float64(median(aCPU))
	scale := float64(dMed) / float64(aMed)
	scaleCPU := float64(median(dCPU)) / float64(median(aCPU))

	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("")
	line("security-gate benchmark: the CLI")
	line("  date      %s", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	line("  machine   nproc %s, %s; load average %s before (a)-(d), %s after", nproc(), cpuModel(), f.loadBefore, f.loadAfter)
	line("  go        %s %s/%s; %s", runtime.Version(), runtime.GOOS, runtime.GOARCH, cosignVersion(f.cosign))
	line("  workload  %d images, each with a cosign signature and a signed vuln attestation (clean Trivy", numImages)
	line("            scan), classic layout; a %d-task PipelineRun (embedded pipelineSpec, %d images per task,", numTasks, numImages/numTasks)
	line("            restricted securityContexts); registry on 127.0.0.1 in the test process. (d): the same")
	line("            with %d images (%d per task)", numScaleImages, numScaleImages/numTasks)
	line("")
	row := func(name, t, rss string) { line("  %-66s %10s %10s", name, t, rss) }
	row("", "time", "peak RSS")
	row(fmt.Sprintf("(a) security-gate verify, cold process, median of %d", len(aWall)), ms(aMed), mib(aRSS))
	row("(b) warm cache, in-process (BenchmarkWarmPipeline), per run", ms(bPerOp), "-")
	row(fmt.Sprintf("(c) cosign verify + verify-attestation, %d processes, median of %d", procs, len(cWall)), sec(cMed), mib(cRSS))
	row(fmt.Sprintf("(d) security-gate verify, %d images, cold process, median of %d", numScaleImages, len(dWall)), ms(dMed), mib(dRSS))
	line("")
	line("  (a) wall %s; CPU user+sys median %s; %d/%d images verified, verdict pass", list(aWall, ms), ms(median(aCPU)), numImages, numImages)
	line("  (b) N=%d; %d allocs/op, %s/op; %.0f registry requests/op", f.b.N, f.b.AllocsPerOp(), kib(f.b.AllocedBytesPerOp()), f.b.Extra["requests/op"])
	line("  (c) wall %s (%s per image); CPU user+sys median %s", list(cWall, sec), ms(cMed/time.Duration(numImages)), sec(median(cCPU)))
	line("  (d) wall %s; CPU user+sys median %s; %d/%d images verified, verdict pass", list(dWall, ms), ms(median(dCPU)), numScaleImages, numScaleImages)
	line("")
	line("  ratio (c)/(a): %.1fx wall time, %.1fx CPU time", ratio, cpuRatio)
	saWall, saCPU, _ := f.startA.stats()
	scWall, scCPU, _ := f.startC.stats()
	if len(saWall) > 0 && len(scWall) > 0 {
		sa, sc := median(saWall), median(scWall)
		line("  process start (`version`, median of %d): security-gate %s wall (%s CPU), cosign %s (%s CPU)",
			len(saWall), ms(sa), ms(median(saCPU)), ms(sc), ms(median(scCPU)))
		line("    = %.0f%% of (a); %d cosign starts = %.0f%% of (c); with no work at all beyond starting,", 100*float64(sa)/float64(aMed), procs, 100*float64(procs)*float64(sc)/float64(cMed))
		line("    (c)/(a) would be %.0fx", float64(procs)*float64(sc)/float64(sa))
	}
	if f.prof.runs > 0 {
		profileLines(line, f.prof, aMed, saWall)
	}
	line("  ratio (d)/(a): %.1fx wall time, %.1fx CPU time, for %dx the images", scale, scaleCPU, scaleImageRate)
	line("")
	line("  %-48s %10s  %s", "target", "measured", "status")
	target := func(name, measured string, ok bool) { line("  %-48s %10s  %s", name, measured, met(ok)) }
	target(fmt.Sprintf("(a) at least %.0fx faster than (c) (wall)", targetRatio), fmt.Sprintf("%.1fx", ratio), ratio >= targetRatio)
	target(fmt.Sprintf("(d) %d images under %.0fx the time of (a)", numScaleImages, targetScale), fmt.Sprintf("%.1fx", scale), scale < targetScale)
	target(fmt.Sprintf("(d) peak RSS under %s", mib(targetPeakRSS)), mib(dRSS), dRSS < targetPeakRSS)
	target(fmt.Sprintf("(a) peak RSS under %s", mib(targetPeakRSS)), mib(aRSS), aRSS < targetPeakRSS)
	target(fmt.Sprintf("(b) under %s for the whole pipeline", ms(targetWarm)), ms(bPerOp), bPerOp < targetWarm)
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

// profileLines says where (a)'s time goes: the process start (`version`),
// the verification itself (profiled in-process), and the rest (reading the
// files, printing, exit).
func profileLines(line func(string, ...any), p coldProfile, aMed time.Duration, startWall []time.Duration) {
	start := median(startWall)
	line("  where (a)'s %s goes:", ms(aMed))
	if len(startWall) > 0 {
		line("    process start (`version`)                      %9s  %3.0f%%", ms(start), 100*float64(start)/float64(aMed))
	}
	line("    the verification, in-process, cold             %9s  %3.0f%%  (new registry client and empty cache;", ms(p.wall), 100*float64(p.wall)/float64(aMed))
	line("      mean of %d runs under the CPU profiler: %s)", p.runs, p.path)
	if len(startWall) > 0 {
		rest := aMed - start - p.wall
		line("    the rest                                       %9s  %3.0f%%  (what only a new process pays: first", ms(rest), 100*float64(rest)/float64(aMed))
		line("      touch of heap and code pages, lazy initialisation; and reading the files, printing, exit)")
	}
	per := func(d time.Duration) time.Duration { return d / time.Duration(p.runs) }
	line("  the verification's CPU, %s per run on the CLI's side:", ms(per(p.clientT)))
	for _, k := range p.client {
		line("    %-62s %9s  %3.0f%%", k.kind, ms(per(k.cpu)), 100*float64(k.cpu)/float64(p.clientT))
	}
	line("    (not the CLI's: the loopback registry %s, background GC of both sides %s per run)", ms(per(p.server)), ms(per(p.runtimeT)))
}
