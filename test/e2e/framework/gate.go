//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
		fromManifest, err := e.gateDeploymentEnv()
		if err != nil {
			return err
		}
		// The Deployment's own environment last but one: it wins over the
		// harness defaults, and only explicit extraEnv (E2E_GATE_ENV) over it.
		env = append(env, "METRICS_DOMAIN=securitygate.dev/controller")
		env = append(env, fromManifest...)
		env = append(env, strings.Fields(os.Getenv("E2E_GATE_ENV"))...)
		env = append(env, extraEnv...)
		before := e.GateLeaseHolders(ctx)
		p, err := startProcess(e.Dir, name, env, bin)
		if err != nil {
			return err
		}
		e.track(p)
		gc = &GateController{p}
		if !wait {
			return nil
		}
		// Ready when a lease is held by an identity that held none before:
		// this process (a killed predecessor's lease may still be recorded).
		return e.waitProcess(ctx, p, 3*time.Minute, func(ctx context.Context) (bool, error) {
			if denied := forbiddenInformers(p.LogPath); len(denied) > 0 {
				// An informer the RBAC in config/ does not allow never
				// syncs, and the controller never starts: say which.
				return false, fmt.Errorf("the RBAC in config/ forbids what the controller's informers list: %s", strings.Join(denied, "; "))
			}
			for h := range e.GateLeaseHolders(ctx) {
				if !before[h] {
					return true, nil
				}
			}
			return false, nil
		})
	})
	return gc, err
}

var forbiddenRE = regexp.MustCompile(`cannot list resource \\?"([^"\\]+)\\?" in API group \\?"([^"\\]*)\\?"`)

// forbiddenInformers lists the resources the process's log says it was
// forbidden to list, as resource.group.
func forbiddenInformers(logPath string) []string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range forbiddenRE.FindAllStringSubmatch(string(b), -1) {
		r := m[1]
		if m[2] != "" {
			r += "." + m[2]
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// gateDeploymentEnv is the controller container's environment from the
// Deployment in config/ (500-controller.yaml), so the process runs as the
// Deployment would: literal values as written, the downward-API fields this
// controller uses resolved (metadata.namespace, spec.serviceAccountName).
// SYSTEM_NAMESPACE and the probe/metrics ports stay the harness's.
func (e *Env) gateDeploymentEnv() ([]string, error) {
	files, err := e.GateManifests()
	if err != nil {
		return nil, err
	}
	objs, err := ReadManifests(files...)
	if err != nil {
		return nil, err
	}
	var out []string
	forDeploymentEnv(objs, func(dep *unstructured.Unstructured, name string, m map[string]any) {
		switch name {
		case "SYSTEM_NAMESPACE", "PROBES_PORT", "METRICS_PROMETHEUS_PORT", "PROFILING_PORT", "HOME":
			return
		case "TUF_CACHE_DIR":
			// The Deployment's emptyDir; a process gets its own
			// directory under the suite's.
			out = append(out, name+"="+filepath.Join(e.Dir, "tuf-cache"))
			return
		}
		if v, ok := m["value"].(string); ok {
			out = append(out, name+"="+v)
			return
		}
		path, _, _ := unstructured.NestedString(m, "valueFrom", "fieldRef", "fieldPath")
		switch path {
		case "metadata.namespace":
			out = append(out, name+"="+dep.GetNamespace())
		case "spec.serviceAccountName":
			sa, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "spec", "serviceAccountName")
			out = append(out, name+"="+sa)
		}
	})
	return out, nil
}

// forDeploymentEnv calls fn with every env entry (name and the raw entry)
// of every container of every Deployment in objs.
func forDeploymentEnv(objs []*unstructured.Unstructured, fn func(dep *unstructured.Unstructured, name string, entry map[string]any)) {
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			envs, _ := c.(map[string]any)["env"].([]any)
			for _, ev := range envs {
				m, _ := ev.(map[string]any)
				name, _ := m["name"].(string)
				fn(o, name, m)
			}
		}
	}
}

// GateLeaseHolders lists the identities holding leases in the controller's
// namespace.
func (e *Env) GateLeaseHolders(ctx context.Context) map[string]bool {
	return e.leaseHolders(ctx, GateNamespace)
}

// ShortenGateLeases overrides config-leader-election in the controller's
// namespace with short leases, so a replica that replaces a killed one takes
// over in seconds instead of the shipped 60 s, and two buckets, so two
// replicas can share the work (TestTwoReplicas).
func (e *Env) ShortenGateLeases(ctx context.Context) error {
	return e.ApplyYAML(ctx, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-leader-election
  namespace: `+GateNamespace+`
data:
  lease-duration: "15s"
  renew-deadline: "10s"
  retry-period: "2s"
  buckets: "2"
`)
}

// extraRBAC grants what the controller's informers needed beyond config/
// when the tree linked Tekton's taskrun reconciler (its injection informers:
// TaskRuns, VerificationPolicies, Secrets, LimitRanges, all namespaces). It
// is applied only with E2E_GATE_EXTRA_RBAC=1, to exercise the scenarios
// while config/ and the controller disagree; the default run tests config/
// exactly as shipped.
const extraRBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: security-gate-e2e-extra
rules:
- apiGroups: ["tekton.dev"]
  resources: ["taskruns", "verificationpolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["secrets", "limitranges"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: security-gate-e2e-extra
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: security-gate-e2e-extra
subjects:
- kind: ServiceAccount
  name: security-gate-controller
  namespace: security-gate
`

// ApplyExtraGateRBAC applies extraRBAC when E2E_GATE_EXTRA_RBAC=1 and says
// whether it did.
func (e *Env) ApplyExtraGateRBAC(ctx context.Context) (bool, error) {
	if os.Getenv("E2E_GATE_EXTRA_RBAC") != "1" {
		return false, nil
	}
	return true, e.ApplyYAML(ctx, extraRBAC)
}
