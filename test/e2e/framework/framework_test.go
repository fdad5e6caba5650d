//go:build e2e

package framework

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestStartStop starts etcd and kube-apiserver, checks the API answers as
// the admin, and that Stop leaves no process behind.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	e, err := Start(ctx, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			e.Stop()
		}
	}()
	v, err := e.Kube.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	// knative-based controllers refuse a server without a real version.
	if v.GitVersion != "v1.35.3" {
		t.Errorf("kube-apiserver reports version %q, want v1.35.3 (built without the version ldflags?)", v.GitVersion)
	}
	procs := e.Processes()
	t.Logf("memory:\n%s", e.MemoryReport())
	e.Stop()
	stopped = true
	for _, p := range procs {
		if ok, _ := p.Exited(); !ok {
			t.Errorf("%s (pid %d) still running after Stop", p.Name, p.PID())
		}
		// The PID must be gone (reaped), not merely signalled.
		if err := syscall.Kill(p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d): kill -0 = %v after Stop, want ESRCH", p.Name, p.PID(), err)
		}
	}
	if _, err := os.Stat(e.Dir); os.Getenv("E2E_KEEP") != "1" && !os.IsNotExist(err) {
		t.Errorf("work directory %s not removed: %v", e.Dir, err)
	}
}
