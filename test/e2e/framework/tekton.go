//go:build e2e

package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

const (
	TektonNamespace          = "tekton-pipelines"
	TektonResolversNamespace = "tekton-pipelines-resolvers"
)

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as the
// ServiceAccount ns/name with a bound token from the TokenRequest API, so a
// process runs under exactly the RBAC its manifests grant.
func (e *Env) ServiceAccountKubeconfig(ctx context.Context, ns, name string) (string, error) {
	tr, err := e.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(6 * 3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	path := filepath.Join(e.Dir, fmt.Sprintf("%s.%s.kubeconfig", ns, name))
	return path, e.writeKubeconfig(path, ns+"/"+name, &clientcmdapi.AuthInfo{Token: tr.Status.Token})
}

// InstallTekton applies Tekton's manifests (CRDs, namespaces, RBAC, config
// maps; no Deployments, Services or webhooks) from .cache/tekton/config.
func (e *Env) InstallTekton(ctx context.Context) error {
	return e.timed("tekton manifests", func() error {
		objs, err := ReadManifests(filepath.Join(e.Root, ".cache", "tekton", "config"))
		if err != nil {
			return fmt.Errorf("tekton config (run hack/e2e-tools.sh): %w", err)
		}
		return e.Apply(ctx, objs)
	})
}

// knativeEnv is the environment knative's sharedmain needs out of cluster.
// Each process gets its own probe, metrics and profiling ports.
func knativeEnv(ns, kubeconfig, leaderElection string) ([]string, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	return []string{
		"SYSTEM_NAMESPACE=" + ns,
		"KUBECONFIG=" + kubeconfig,
		"KUBERNETES_MIN_VERSION=v1.28.0",
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
		"CONFIG_LEADERELECTION_NAME=" + leaderElection,
		fmt.Sprintf("PROBES_PORT=%d", ports[0]),
		fmt.Sprintf("METRICS_PROMETHEUS_PORT=%d", ports[1]),
		fmt.Sprintf("PROFILING_PORT=%d", ports[2]),
	}, nil
}

// StartTekton runs Tekton's controller and resolvers, each as its own
// ServiceAccount, and waits until each holds its leader-election leases.
func (e *Env) StartTekton(ctx context.Context) error {
	return e.timed("tekton processes", func() error {
		for _, b := range []string{"tekton-controller", "tekton-resolvers"} {
			if _, err := os.Stat(filepath.Join(e.BinDir, b)); err != nil {
				return fmt.Errorf("%s missing in %s: run hack/e2e-tools.sh first", b, e.BinDir)
			}
		}
		ckc, err := e.ServiceAccountKubeconfig(ctx, TektonNamespace, "tekton-pipelines-controller")
		if err != nil {
			return err
		}
		env, err := knativeEnv(TektonNamespace, ckc, "config-leader-election-controller")
		if err != nil {
			return err
		}
		env = append(env,
			"CONFIG_FEATURE_FLAGS_NAME=feature-flags",
			"CONFIG_DEFAULTS_NAME=config-defaults",
			"CONFIG_SPIRE=config-spire",
			"METRICS_DOMAIN=tekton.dev/pipeline",
		)
		// No pod ever runs here; the images only have to be non-empty.
		img := "127.0.0.1:1/unused"
		ctl, err := startProcess(e.Dir, "tekton-controller", env, filepath.Join(e.BinDir, "tekton-controller"),
			"-entrypoint-image="+img, "-nop-image="+img, "-sidecarlogresults-image="+img,
			"-workingdirinit-image="+img, "-shell-image="+img, "-shell-image-win="+img)
		if err != nil {
			return err
		}
		e.track(ctl)

		rkc, err := e.ServiceAccountKubeconfig(ctx, TektonResolversNamespace, "tekton-pipelines-resolvers")
		if err != nil {
			return err
		}
		renv, err := knativeEnv(TektonResolversNamespace, rkc, "config-leader-election-resolvers")
		if err != nil {
			return err
		}
		renv = append(renv, "CONFIG_FEATURE_FLAGS_NAME=feature-flags", "METRICS_DOMAIN=tekton.dev/resolution")
		res, err := startProcess(e.Dir, "tekton-resolvers", renv, filepath.Join(e.BinDir, "tekton-resolvers"))
		if err != nil {
			return err
		}
		e.track(res)

		if err := e.WaitLeader(ctx, ctl, TektonNamespace, "pipelinerun"); err != nil {
			return err
		}
		return e.WaitLeader(ctx, res, TektonResolversNamespace, "bundle")
	})
}

// WaitLeader waits until some lease in ns whose name contains part is held:
// the process has synced its informers and is reconciling.
func (e *Env) WaitLeader(ctx context.Context, p *Process, ns, part string) error {
	return e.waitProcess(ctx, p, 2*time.Minute, func(ctx context.Context) (bool, error) {
		ls, err := e.Kube.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		return anyHeld(ls.Items, part), nil
	})
}

func anyHeld(ls []coordinationv1.Lease, part string) bool {
	for _, l := range ls {
		if strings.Contains(l.Name, part) && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			return true
		}
	}
	return false
}
