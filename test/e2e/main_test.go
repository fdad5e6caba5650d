//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/security-gate/security-gate/test/e2e/framework"
)

// env is the control plane shared by every test of the suite.
var env *framework.Env

// gateBin is our controller's binary, and gate its running replica; empty
// and nil while the tree has no cmd/controller or config/ yet.
// gateErr is why it could not be started: the gate scenarios fail with it,
// while the harness's own tests still run.
var (
	gateBin string
	gate    *framework.GateController
	gateErr error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx := context.Background()
	t0 := time.Now()
	var err error
	env, err = framework.Start(ctx, framework.Options{Logf: log.Printf})
	if err != nil {
		log.Printf("e2e: start control plane: %v", err)
		return 1
	}
	// Stop everything whatever happens next: failure, panic in TestMain,
	// or an interrupt.
	defer func() {
		log.Printf("e2e: peak memory (VmHWM):\n%s", env.MemoryReport())
		env.Stop()
		log.Printf("e2e: whole suite %v", time.Since(t0).Round(time.Millisecond))
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		log.Printf("e2e: %v: stopping the control plane", s)
		env.Stop()
		os.Exit(130)
	}()

	if err := setup(ctx); err != nil {
		log.Printf("e2e: %v", err)
		return 1
	}
	if err := setupGate(ctx); err != nil {
		gateErr = err
		log.Printf("e2e: security-gate controller: %v", err)
	}
	log.Printf("e2e: control plane ready in %v (work dir %s)", time.Since(t0).Round(time.Millisecond), env.Dir)
	return m.Run()
}

func setup(ctx context.Context) error {
	if err := env.InstallTekton(ctx); err != nil {
		return fmt.Errorf("install tekton: %w", err)
	}
	if err := env.StartTekton(ctx); err != nil {
		return fmt.Errorf("start tekton: %w", err)
	}
	if err := env.StartRegistry(); err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	return nil
}

// setupGate installs config/ and starts our controller as its ServiceAccount.
func setupGate(ctx context.Context) error {
	if !env.HasGateController() {
		log.Printf("e2e: no cmd/controller or config/*.yaml: the security-gate scenarios will be skipped")
		return nil
	}
	if err := env.InstallGate(ctx); err != nil {
		return fmt.Errorf("install security-gate: %w", err)
	}
	if _, err := env.Kube.CoreV1().ServiceAccounts(framework.GateNamespace).Get(ctx, framework.GateServiceAccount, metav1.GetOptions{}); err != nil {
		log.Printf("e2e: config/ defines no ServiceAccount %s/%s yet (%v): the security-gate scenarios will be skipped",
			framework.GateNamespace, framework.GateServiceAccount, err)
		return nil
	}
	if err := env.ShortenGateLeases(ctx); err != nil {
		return err
	}
	if extra, err := env.ApplyExtraGateRBAC(ctx); err != nil {
		return err
	} else if extra {
		log.Printf("e2e: WARNING: E2E_GATE_EXTRA_RBAC=1: the controller runs with more permissions than config/ grants")
	}
	bin, err := env.BuildGateController(ctx)
	if err != nil {
		return err
	}
	gateBin = bin
	gate, err = env.StartGateController(ctx, bin, "security-gate-controller", true)
	return err
}
