//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// GateNamespace and GateServiceAccount are where config/ installs the
	// controller and who it runs as.
	GateNamespace      = "security-gate"
	GateServiceAccount = "security-gate-controller"
)

// GateManifests lists config/*.yaml (not subfolders such as config/kyverno,
// which need other CRDs). The Deployment in 500-controller.yaml is skipped by
// Apply, like every Deployment: the controller runs as a local process.
func (e *Env) GateManifests() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(e.Root, "config", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// HasGateController reports whether the tree has our controller's main yet.
func (e *Env) HasGateController() bool {
	_, err := os.Stat(filepath.Join(e.Root, "cmd", "controller"))
	return err == nil && len(e.mustGlob("config/*.yaml")) > 0
}

func (e *Env) mustGlob(pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(e.Root, pattern))
	return m
}

// InstallGate applies our manifests from config/.
func (e *Env) InstallGate(ctx context.Context) error {
	return e.timed("security-gate manifests", func() error {
		files, err := e.GateManifests()
		if err != nil {
			return err
		}
		objs, err := ReadManifests(files...)
		if err != nil {
			return err
		}
		return e.Apply(ctx, objs)
	})
}

// GateController is one running replica of our controller.
type GateController struct {
	*Process
}

// BuildGateController builds ./cmd/controller into the work directory.
func (e *Env) BuildGateController(ctx context.Context) (string, error) {
	out := filepath.Join(e.Dir, "security-gate-controller")
	err := e.timed("build security-gate controller", func() error {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/controller")
		cmd.Dir = e.Root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/controller: %v\n%s", err, b)
		}
		return nil
	})
	return out, err
}

// StartGateController runs our controller binary as the ServiceAccount
// security-gate/security-gate-controller, with a token from TokenRequest, so
// it has exactly the permissions config/ grants. name distinguishes replicas
// (its log file). It returns once the process holds a leader-election lease
// in the controller's namespace, unless wait is false (a second replica may
// hold none).
func (e *Env) StartGateController(ctx context.Context, bin, name string, wait bool, extraEnv ...string) (*GateController, error) {
	var gc *GateController
	err := e.timed("start "+name, func() error {
		kc, err := e.ServiceAccountKubeconfig(ctx, GateNamespace, GateServiceAccount)
		if err != nil {
			return err
		}
		env, err := knativeEnv(GateNamespace, kc, "config-leader-election")
		if err != nil {
			return err
		}
		env = append(env, "METRICS_DOMAIN=securitygate.dev/controller")
		env = append(env, extraEnv...)
		p, err := startProcess(e.Dir, name, env, bin)
		if err != nil {
			return err
		}
		e.track(p)
		gc = &GateController{p}
		if !wait {
			return nil
		}
		return e.waitProcess(ctx, p, 2*time.Minute, func(ctx context.Context) (bool, error) {
			ls, err := e.Kube.CoordinationV1().Leases(GateNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, l := range ls.Items {
				if h := l.Spec.HolderIdentity; h != nil && strings.HasPrefix(*h, hostnamePrefix()) {
					return true, nil
				}
			}
			return false, nil
		})
	})
	return gc, err
}

// hostnamePrefix is how knative names a lease holder: the pod name (here the
// host name) followed by an id.
func hostnamePrefix() string {
	h, _ := os.Hostname()
	return h
}
