//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/examples"
	"github.com/security-gate/security-gate/test/e2e/framework"
)

// demoNamespace is where the PipelineRuns run (the policy denies default).
const demoNamespace = "security-gate-demo"

func main() {
	keep := flag.Bool("keep", false, "leave everything running after the runs, until SIGTERM/SIGINT")
	state := flag.String("state", "", "with -keep: write KUBECONFIG, PIDs and the stop command to this file once ready")
	cosignBin := flag.String("cosign", "", "cosign v2 CLI (default: .cache/bin/cosign2)")
	flag.Parse()
	os.Exit(run(*keep, *state, *cosignBin))
}

// keeping is set once the demo succeeded and stays up for KEEP=1.
var keeping atomic.Bool

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func section(title string) { fmt.Printf("\n== %s\n", title) }

func run(keep bool, stateFile, cosignBin string) int {
	t0 := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	section("starting a local control plane (etcd, kube-apiserver, Tekton, a loopback registry)")
	env, err := framework.Start(ctx, framework.Options{Logf: func(f string, a ...any) {
		say("  "+strings.TrimPrefix(f, "e2e: "), a...)
	}})
	if err != nil {
		return failed("start the control plane: %v", err)
	}
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			section("stopping everything the demo started")
			// env.Stop stops them in reverse start order (SIGTERM, wait, SIGKILL).
			procs := env.Processes()
			for i := len(procs) - 1; i >= 0; i-- {
				say("  stop %-26s pid %d", procs[i].Name, procs[i].PID())
			}
			env.Stop()
			say("  registry %s closed", registryHost(env))
		})
	}
	defer stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		say("\ndemo: %v received", s)
		cancel()
		stop()
		if keeping.Load() {
			os.Exit(0) // the demo succeeded; this is how KEEP=1 ends
		}
		os.Exit(130)
	}()

	if err := env.InstallTekton(ctx); err != nil {
		return failed("install Tekton: %v", err)
	}
	if err := env.StartTekton(ctx); err != nil {
		return failed("start Tekton: %v", err)
	}
	if err := env.StartRegistry(); err != nil {
		return failed("start the registry: %v", err)
	}

	section("installing security-gate (config/) and starting its controller as ServiceAccount " +
		framework.GateNamespace + "/" + framework.GateServiceAccount)
	if !env.HasGateController() {
		return failed("the tree has no cmd/controller or config/*.yaml: nothing to demonstrate")
	}
	if err := env.InstallGate(ctx); err != nil {
		return failed("install config/: %v", err)
	}
	if err := configureSummaries(ctx, env, cosignBin); err != nil { // vexvsa.go
		return failed("configure verification summaries: %v", err)
	}
	bin, err := env.BuildGateController(ctx)
	if err != nil {
		return failed("build the controller: %v", err)
	}
	gc, err := env.StartGateController(ctx, bin, "security-gate-controller", true)
	if err != nil {
		return failed("start the controller: %v", err)
	}
	say("  controller pid %d, log %s", gc.PID(), gc.LogPath)
	say("  control plane and gate ready in %v", time.Since(t0).Round(100*time.Millisecond))

	section("publishing the examples (examples/README.md steps 1-5)")
	if cosignBin == "" {
		cosignBin = filepath.Join(env.BinDir, "cosign2")
	}
	keyDir := filepath.Join(env.Dir, "demo-keys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return failed("%v", err)
	}
	tPub := time.Now()
	team := &cosignCLI{bin: cosignBin, dir: keyDir}
	pub, err := publish(ctx, env, team, func(f string, a ...any) { say("  "+f, a...) })
	if err != nil {
		return failed("publish the examples: %v", err)
	}
	policy, err := examples.RenderFile("clustersecuritygate.yaml", pub.vars)
	if err != nil {
		return failed("%v", err)
	}
	if err := env.ApplyYAML(ctx, string(policy)); err != nil {
		return failed("apply examples/clustersecuritygate.yaml: %v", err)
	}
	say("  step 2  ClusterSecurityGate demo applied (key: the one generated in step 1)")
	if vexRunVars, err = publishVEX(ctx, env, team, pub); err != nil { // vexvsa.go: run 3
		return failed("publish run 3 (VEX): %v", err)
	}
	if err := createNamespace(ctx, env); err != nil {
		return failed("%v", err)
	}
	say("  namespace %s created (with its default ServiceAccount)", demoNamespace)
	say("  published in %v", time.Since(tPub).Round(100*time.Millisecond))

	ok := true
	for _, sc := range scenarios() {
		section(sc.title)
		tRun := time.Now()
		o, err := runScenario(ctx, env, pub, sc)
		if err != nil {
			say("  %v", err)
			ok = false
		}
		if o != nil {
			printOutcome(o)
			if problems := sc.check(o); len(problems) > 0 {
				ok = false
				for _, p := range problems {
					say("  UNEXPECTED: %s", p)
				}
			}
		}
		say("  (%v)", time.Since(tRun).Round(100*time.Millisecond))
		if !ok {
			say("\n  controller log (last lines, %s):\n%s", gc.LogPath, indent(compactLog(gc.LogTail(25))))
			break
		}
	}
	if ok {
		section("run 4: gate what you built: pre-run gate, build, Tekton Chains, release gate, deploy (release.go)")
		tRun := time.Now()
		for _, p := range runRelease(ctx, env, team, pub) {
			ok = false
			say("  UNEXPECTED: %s", p)
		}
		say("  (%v)", time.Since(tRun).Round(100*time.Millisecond))
		if !ok {
			say("\n  controller log (last lines, %s):\n%s", gc.LogPath, indent(compactLog(gc.LogTail(25))))
		}
	}

	section("summary")
	say("  total %v", time.Since(t0).Round(100*time.Millisecond))
	for _, tm := range env.Timings {
		say("  %-32s %v", tm.Phase, tm.Duration.Round(time.Millisecond))
	}
	say("  peak memory (VmHWM):\n%s", strings.TrimRight(env.MemoryReport(), "\n"))
	if !ok {
		return failed("the runs did not end as examples/README.md says they must (see UNEXPECTED above)")
	}
	say("\nDEMO OK: the compliant run passed the gate and ran, each image with a signed verification summary;")
	say("the non-compliant run was stopped by the gate; a signed VEX statement dropped a Critical finding, noted in the report;")
	say("a release gate verified what the build made, once Tekton Chains had signed it, and deploy received exactly that digest.")
	if keep {
		keeping.Store(true)
		return keepRunning(env, stateFile)
	}
	return 0
}

func failed(format string, args ...any) int {
	say("\nDEMO FAILED: %s", compactLog(fmt.Sprintf(format, args...)))
	return 1
}

// compactLog makes an error that carries a process's log tail readable: a
// JSON log line (knative's zap format) becomes "severity message: error",
// without its stack trace; any line is cut at 300 characters.
func compactLog(s string) string {
	lines := strings.Split(s, "\n")
	seen := map[string]int{}
	var out []string
	for _, l := range lines {
		var e struct {
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Error    string `json:"error"`
		}
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &e) == nil && e.Message != "" {
			l = e.Severity + " " + e.Message
			if e.Error != "" {
				l += ": " + e.Error
			}
			if len(l) > 300 {
				l = l[:300] + "…"
			}
			// The same complaint every few seconds: once, with a count.
			if n, dup := seen[l]; dup {
				seen[l] = n + 1
				continue
			}
			seen[l] = 1
		}
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		out = append(out, l)
	}
	for i, l := range out {
		if n := seen[l]; n > 1 {
			out[i] = fmt.Sprintf("%s  (x%d)", l, n)
		}
	}
	return strings.Join(out, "\n")
}

func registryHost(env *framework.Env) string {
	if env.Registry == nil {
		return "(none)"
	}
	return env.Registry.Host
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func createNamespace(ctx context.Context, env *framework.Env) error {
	if _, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: demoNamespace},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", demoNamespace, err)
	}
	// No kube-controller-manager here creates it.
	if _, err := env.Kube.CoreV1().ServiceAccounts(demoNamespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ServiceAccount %s/default: %w", demoNamespace, err)
	}
	return nil
}

// keepRunning leaves the control plane up for kubectl, until a signal.
func keepRunning(env *framework.Env, stateFile string) int {
	var b strings.Builder
	fmt.Fprintf(&b, "KUBECONFIG=%s\n", env.Kubeconfig)
	fmt.Fprintf(&b, "REGISTRY=%s\n", registryHost(env))
	fmt.Fprintf(&b, "DEMO_PID=%d\n", os.Getpid())
	for _, p := range env.Processes() {
		fmt.Fprintf(&b, "PID_%s=%d\n", strings.ToUpper(strings.NewReplacer("-", "_").Replace(p.Name)), p.PID())
	}
	fmt.Fprintf(&b, "STOP='kill %d'\n", os.Getpid())
	section("KEEP=1: everything stays up")
	say("  export KUBECONFIG=%s", env.Kubeconfig)
	say("  kubectl get pipelineruns,customruns,taskruns -n %s", demoNamespace)
	say("  registry %s (plain HTTP on loopback); logs and keys in %s", registryHost(env), env.Dir)
	say("  processes: demo pid %d (holds the registry)", os.Getpid())
	for _, p := range env.Processes() {
		say("             %-26s pid %d", p.Name, p.PID())
	}
	say("  stop it all: kill %d   (SIGTERM: the demo stops each process by PID, then exits)", os.Getpid())
	if stateFile != "" {
		if err := os.WriteFile(stateFile, []byte(b.String()), 0o600); err != nil {
			return failed("write %s: %v", stateFile, err)
		}
	}
	// The signal handler stops everything and exits.
	select {}
}
