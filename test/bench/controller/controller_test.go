//go:build e2e && bench

package controller

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/test/e2e/framework"
	"github.com/security-gate/security-gate/test/fixture"
)

// Environment of TestControllerThroughput (hack/bench.sh sets some).
const (
	envGates    = "BENCH_GATES"              // measured gates, default 400
	envWarm     = "BENCH_WARM_GATES"         // warm-up gates, default 20
	envCreators = "BENCH_CREATORS"           // concurrent creating clients, default 16
	envBin      = "BENCH_CONTROLLER"         // controller binary (default: go build ./cmd/controller)
	envReport   = "BENCH_REPORT"             // append the table to this file
	envProfile  = "BENCH_CONTROLLER_PROFILE" // write the controller's CPU profile of the measured window here
	envPaced    = "BENCH_PACED_GATES"        // gates created at a steady rate after the measured window, default 100
	envPace     = "BENCH_PACED_RATE"         // that rate, gates per second, default 25
)

// Targets, printed (met / NOT met), never asserted.
const (
	targetRate = 50.0  // gate decisions per second
	targetRSS  = 150.0 // MiB, the controller's peak
)

// TestControllerThroughput measures gate decisions per second on the real
// API server with a warm cache (see the package documentation).
func TestControllerThroughput(t *testing.T) {
	gates, warmGates, creators := envInt(t, envGates, 400), envInt(t, envWarm, 20), envInt(t, envCreators, 16)
	pacedGates, pace := envInt(t, envPaced, 100), envInt(t, envPace, 25)
	ctx := context.Background()
	env, err := framework.Start(ctx, framework.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Stop)
	if !env.HasGateController() {
		t.Fatal("no cmd/controller or config/*.yaml in the tree")
	}
	for _, step := range []struct {
		what string
		do   func(context.Context) error
	}{
		{"install Tekton's CRDs and RBAC", env.InstallTekton},
		{"start the registry", func(context.Context) error { return env.StartRegistry() }},
		{"install config/", env.InstallGate},
	} {
		if err := step.do(ctx); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
	}
	profile := os.Getenv(envProfile)
	var extraEnv []string
	var profilePort int
	if profile != "" {
		if profilePort, err = freePort(); err != nil {
			t.Fatal(err)
		}
		extraEnv = append(extraEnv, "PROFILING_PORT="+strconv.Itoa(profilePort))
		if err := env.ApplyYAML(ctx, profilingOn); err != nil {
			t.Fatal(err)
		}
	}
	bin := os.Getenv(envBin)
	if bin == "" {
		if bin, err = env.BuildGateController(ctx); err != nil {
			t.Fatal(err)
		}
	}
	gc, err := env.StartGateController(ctx, bin, "security-gate-controller", true, extraEnv...)
	if err != nil {
		t.Fatal(err)
	}

	ns := env.Namespace(t)
	key := fixture.NewKey(t)
	image := fixture.PushRandomImage(t, env.Registry.Host+"/"+ns+"/app:v1")
	key.SignClassic(t, image)
	key.AttestClassic(t, image, fixture.CosignVulnPredicate, fixture.TrivyVulnPredicate(t, time.Now().Add(-time.Hour)))
	policyName := "bench-" + ns
	if err := createClusterPolicy(ctx, env.Dynamic, policyName, policySpec(key)); err != nil {
		t.Fatal(err)
	}
	spec := pipelineSpec(policyName, image)

	// Every PipelineRun exists, resolved, before its CustomRun: Tekton
	// creates the gate's CustomRun only after recording status.pipelineSpec.
	all := append(append(runNames("warm", warmGates), runNames("run", gates)...), runNames("paced", pacedGates)...)
	crs := make([]*v1beta1.CustomRun, len(all))
	if err := parallel(len(all), creators, func(i int) error {
		pr, err := createPipelineRun(ctx, env.Tekton, ns, all[i], spec)
		if err != nil {
			return err
		}
		crs[i] = gateCustomRun(pr, policyName)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen, err := watchDecisions(ctx, env.Tekton, ns)
	if err != nil {
		t.Fatal(err)
	}
	create := func(i int) error {
		_, err := env.Tekton.TektonV1beta1().CustomRuns(ns).Create(ctx, crs[i], metav1.CreateOptions{})
		return err
	}
	crNames := func(from, to int) []string {
		out := make([]string, 0, to-from)
		for _, cr := range crs[from:to] {
			out = append(out, cr.Name)
		}
		return out
	}

	// Warm-up: the verification cache, the informers and the connections.
	if err := parallel(warmGates, creators, create); err != nil {
		t.Fatal(err)
	}
	waitAll(t, seen, crNames(0, warmGates), 5*time.Minute)

	// The measured window.
	loadBefore := loadAvg()
	procs := env.Processes()
	cpuBefore := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpuBefore[i] = cpuTime(p.PID())
	}
	selfBefore := selfCPU(t)
	reqBefore, reqErr := apiRequests(ctx, env.Kube.CoreV1().RESTClient())
	profDone := make(chan error, 1)
	if profile != "" {
		seconds := min(max(5, gates/int(targetRate)), 60)
		go func() { profDone <- fetchProfile(profilePort, seconds, profile) }()
	}
	created := make([]time.Time, gates)
	t0 := time.Now()
	if err := parallel(gates, creators, func(i int) error {
		created[i] = time.Now()
		return create(warmGates + i)
	}); err != nil {
		t.Fatal(err)
	}
	createdIn := time.Since(t0)
	measured := crNames(warmGates, warmGates+gates)
	waitAll(t, seen, measured, 15*time.Minute)
	cpuAfter := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpuAfter[i] = cpuTime(p.PID())
	}
	selfAfter := selfCPU(t)
	reqAfter, err := apiRequests(ctx, env.Kube.CoreV1().RESTClient())
	if reqErr == nil {
		reqErr = err
	}
	loadAfter := loadAvg()

	// Latency below saturation: gates created one by one at a steady rate,
	// each create on its own so a slow one does not delay the next.
	pacedFrom := warmGates + gates
	pacedCreated := make([]time.Time, pacedGates)
	pacedErrs := make(chan error, pacedGates)
	tick := time.NewTicker(time.Second / time.Duration(pace))
	for i := range pacedGates {
		<-tick.C
		pacedCreated[i] = time.Now()
		go func() { pacedErrs <- create(pacedFrom + i) }()
	}
	tick.Stop()
	for range pacedGates {
		if err := <-pacedErrs; err != nil {
			t.Fatal(err)
		}
	}
	pacedNames := crNames(pacedFrom, len(crs))
	waitAll(t, seen, pacedNames, 5*time.Minute)
	var pacedLat []time.Duration
	for i, nm := range pacedNames {
		d, _ := seen.get(nm)
		pacedLat = append(pacedLat, d.at.Sub(pacedCreated[i]))
	}
	slices.Sort(pacedLat)

	var lat []time.Duration
	var last time.Time
	var failed []string
	for i, nm := range measured {
		d, _ := seen.get(nm)
		lat = append(lat, d.at.Sub(created[i]))
		if d.at.After(last) {
			last = d.at
		}
	}
	for _, nm := range crNames(0, len(crs)) {
		if d, _ := seen.get(nm); d.status != corev1.ConditionTrue || d.reason != "Passed" {
			failed = append(failed, fmt.Sprintf("customrun/%s/%s ended %s/%s: %s", ns, nm, d.status, d.reason, d.message))
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d gates did not pass (want Succeeded=True, reason Passed); first: %s", len(failed), len(crs), strings.Join(failed[:min(5, len(failed))], "\n"))
	}
	slices.Sort(lat)
	span := last.Sub(t0)
	rate := float64(gates) / span.Seconds()
	rss := gc.PeakMemoryMiB()

	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("")
	line("security-gate benchmark: the controller")
	line("  date      %s", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	line("  machine   nproc %d, %s; load average %s before, %s after the measured window", runtime.NumCPU(), cpuModel(), loadBefore, loadAfter)
	line("  workload  %d gates after %d warm-up gates: each a PipelineRun (status.pipelineSpec set, a gate", gates, warmGates)
	line("            task and one restricted step with a signed, attested image) and its CustomRun, created")
	line("            by %d concurrent clients; etcd, kube-apiserver and the controller as processes,", creators)
	line("            Tekton's controller not running; verification cache warm")
	line("")
	line("  CustomRuns created in %s (%.0f/s)", ms(createdIn), float64(gates)/createdIn.Seconds())
	line("  all %d decided %s after the first was created: %.1f decisions/s", gates, ms(span), rate)
	line("  latency, creation to final condition: p50 %s, p99 %s, max %s (all created at once: mostly", ms(pct(lat, 50)), ms(pct(lat, 99)), ms(lat[len(lat)-1]))
	line("  the wait in the queue)")
	line("  latency at a steady %d gates/s (%d gates): p50 %s, p99 %s, max %s", pace, pacedGates, ms(pct(pacedLat, 50)), ms(pct(pacedLat, 99)), ms(pacedLat[len(pacedLat)-1]))
	line("  controller peak RSS %.1f MiB", rss)
	line("  CPU time in the measured window (%s wall, 2 cores = %s available):", ms(span), ms(2*span))
	for i, p := range procs {
		used := cpuAfter[i] - cpuBefore[i]
		line("    %-28s %9s  %5.1f ms per decision", p.Name, ms(used), float64(used)/float64(gates)/1e6)
	}
	used := selfAfter - selfBefore
	line("    %-28s %9s  %5.1f ms per decision", "harness (clients, registry)", ms(used), float64(used)/float64(gates)/1e6)
	if reqErr != nil {
		line("  API requests: %v", reqErr)
	} else {
		line("  API requests per decision (all clients, measured window):")
		for _, r := range requestDelta(reqBefore, reqAfter, gates) {
			line("    %s", r)
		}
	}
	if profile != "" {
		if err := <-profDone; err != nil {
			line("  controller CPU profile: %v", err)
		} else {
			line("  controller CPU profile: %s (go tool pprof -top %s)", profile, profile)
		}
	}
	line("")
	line("  %-48s %10s  %s", "target", "measured", "status")
	line("  %-48s %10s  %s", fmt.Sprintf("at least %.0f gate decisions per second", targetRate), fmt.Sprintf("%.1f/s", rate), met(rate >= targetRate))
	line("  %-48s %10s  %s", fmt.Sprintf("controller peak RSS under %.0f MiB", targetRSS), fmt.Sprintf("%.1f MiB", rss), met(rss < targetRSS))
	os.Stdout.WriteString(s.String())
	if p := os.Getenv(envReport); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s.String()); err != nil {
			t.Fatal(err)
		}
	}
}

// profilingOn is config/config-observability with runtime profiling on, so
// sharedmain serves /debug/pprof on PROFILING_PORT.
const profilingOn = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-observability
  namespace: ` + framework.GateNamespace + `
data:
  metrics-protocol: prometheus
  runtime-profiling: enabled
`

// fetchProfile writes the controller's CPU profile over the next seconds.
func fetchProfile(port, seconds int, path string) error {
	c := &http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("profile: %s: %s", resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 64<<20)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitAll waits until every named CustomRun has ended; timeout bounds a
// hang, it is not a speed assertion.
func waitAll(t *testing.T, d *decisions, names []string, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, fmt.Sprintf("%d gates to end", len(names)), func(context.Context) (bool, error) {
		return d.count(names) == len(names), nil
	})
}

func runNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}

// pct is the p-th percentile of sorted (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
