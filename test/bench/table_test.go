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
	"text/tabwriter"
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
func newTable(a cliRuns, b testing.BenchmarkResult, c []cosignLoop, cosign string) string {
	var aWall, aCPU []time.Duration
	var aRSS int64
	for _, r := range a.runs {
		aWall = append(aWall, r.wall)
		aCPU = append(aCPU, r.user+r.sys)
		aRSS = max(aRSS, r.maxRSS)
	}
	aMed := median(aWall)
	var cTotals []time.Duration
	var cRSS int64
	procs := 0
	for _, l := range c {
		cTotals = append(cTotals, l.total)
		cRSS = max(cRSS, l.maxRSS)
		procs = l.processes
	}
	cMed := median(cTotals)
	bPerOp := time.Duration(b.T.Nanoseconds() / int64(b.N))
	ratio := float64(cMed) / float64(aMed)

	var s strings.Builder
	fmt.Fprintf(&s, "\nsecurity-gate benchmark (issue 3, Performance)\n")
	hw := tabwriter.NewWriter(&s, 0, 0, 2, ' ', 0)
	fmt.Fprintf(hw, "date\t%s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(hw, "machine\tnproc %s, %s, load average %s (shared machine)\n", nproc(), cpuModel(), loadAvg())
	fmt.Fprintf(hw, "go\t%s %s/%s; %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, cosignVersion(cosign))
	fmt.Fprintf(hw, "workload\t%d images, each with a cosign signature and a signed vuln attestation (clean Trivy scan), classic layout;\n", numImages)
	fmt.Fprintf(hw, "\t%d-task PipelineRun (embedded pipelineSpec, %d images per task, restricted securityContexts); loopback registry\n", numTasks, imagesPerTask)
	hw.Flush()

	s.WriteString("\n")
	tw := tabwriter.NewWriter(&s, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "figure\ttime\tpeak RSS\t\n")
	fmt.Fprintf(tw, "(a) security-gate verify, cold process, median of %d\t%s\t%s\t\n", len(a.runs), ms(aMed), mib(aRSS))
	fmt.Fprintf(tw, "(b) warm cache, in-process (BenchmarkWarmPipeline)\t%s\t-\t\n", ms(bPerOp))
	fmt.Fprintf(tw, "(c) cosign verify + verify-attestation, %d processes, median of %d\t%s\t%s\t\n", procs, len(c), sec(cMed), mib(cRSS))
	tw.Flush()
	fmt.Fprintf(&s, "  (a) runs: %s; CPU user+sys median %s; %d/%d images verified, verdict pass\n", list(aWall, ms), ms(median(aCPU)), numImages, numImages)
	fmt.Fprintf(&s, "  (b) N=%d, %d allocs/op, %s/op, %.0f registry requests/op\n", b.N, b.AllocsPerOp(), kib(b.AllocedBytesPerOp()), b.Extra["requests/op"])
	fmt.Fprintf(&s, "  (c) rounds: %s; %s per image (2 processes)\n", list(cTotals, sec), ms(cMed/time.Duration(numImages)))

	fmt.Fprintf(&s, "\nratio (c)/(a): %.1fx\n\n", ratio)
	tw = tabwriter.NewWriter(&s, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\tmeasured\tstatus\n")
	fmt.Fprintf(tw, "(a) at least %.0fx faster than (c)\t%.1fx\t%s\n", targetRatio, ratio, met(ratio >= targetRatio))
	fmt.Fprintf(tw, "(b) under %s for the whole pipeline\t%s\t%s\n", ms(targetWarm), ms(bPerOp), met(bPerOp < targetWarm))
	fmt.Fprintf(tw, "(a) peak RSS under %s\t%s\t%s\n", mib(targetPeakRSS), mib(aRSS), met(aRSS < targetPeakRSS))
	tw.Flush()
	return s.String()
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
