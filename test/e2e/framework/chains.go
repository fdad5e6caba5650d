//go:build e2e

package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	// ChainsNamespace and ChainsServiceAccount are where Chains' config/
	// installs its controller and who it runs as.
	ChainsNamespace      = "tekton-chains"
	ChainsServiceAccount = "tekton-chains-controller"

	// ChainsSignedAnnotation is what Chains writes on a run it is done
	// with: "true" or "failed".
	ChainsSignedAnnotation = "chains.tekton.dev/signed"
	// ChainsTaskRunFinalizer is the finalizer Chains puts on every TaskRun
	// it watches.
	ChainsTaskRunFinalizer = "chains.tekton.dev/taskrun"
)

// Chains' TaskRun payload formats (artifacts.taskrun.format).
const (
	// ChainsFormatSLSAv1 writes SLSA v0.2 provenance (like "in-toto").
	ChainsFormatSLSAv1 = "slsa/v1"
	// ChainsFormatSLSAv2Alpha3 and ChainsFormatSLSAv2Alpha4 write SLSA v1
	// provenance, which names the TaskRun's UID.
	ChainsFormatSLSAv2Alpha3 = "slsa/v2alpha3"
	ChainsFormatSLSAv2Alpha4 = "slsa/v2alpha4"
)

// ChainsOptions configure Chains (chains-config and the process).
type ChainsOptions struct {
	// Format is artifacts.taskrun.format; empty means slsa/v2alpha4.
	Format string
	// BuilderID is builder.id; empty leaves Chains' default
	// (https://tekton.dev/chains/v2).
	BuilderID string
	// Namespaces limits the TaskRuns Chains watches (its -namespace flag)
	// so it puts no finalizer on other tests' runs; empty watches all.
	Namespaces []string
}

// Chains is a running Tekton Chains controller and the key it signs with.
type Chains struct {
	*Process
	// PublicKeyPEM verifies what it signs (cosign.pub of its key pair).
	PublicKeyPEM string
	// KeyDir holds its signing key files, the Secret's content.
	KeyDir string
}

// InstallChains applies Chains' manifests from .cache/chains/config (its
// namespace, the empty signing-secrets Secret and chains-config, RBAC,
// logging, observability and leader-election config maps; not the
// Deployment or the Service), with short leases so a restarted Chains
// takes over in seconds instead of the shipped 60 s.
func (e *Env) InstallChains(ctx context.Context) error {
	return e.timed("chains manifests", func() error {
		objs, err := e.chainsManifests()
		if err != nil {
			return err
		}
		if err := e.Apply(ctx, objs); err != nil {
			return err
		}
		return e.ApplyYAML(ctx, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: tekton-chains-config-leader-election
  namespace: `+ChainsNamespace+`
data:
  lease-duration: "15s"
  renew-deadline: "10s"
  retry-period: "2s"
`)
	})
}

func (e *Env) chainsManifests() ([]*unstructured.Unstructured, error) {
	objs, err := ReadManifests(filepath.Join(e.Root, ".cache", "chains", "config"))
	if err != nil {
		return nil, fmt.Errorf("chains config (run hack/e2e-tools.sh chains-controller): %w", err)
	}
	return objs, nil
}

// StartChains configures chains-config (OCI storage in the images' own
// repositories, x509 signing with a fresh cosign key pair, no transparency
// log, TaskRun payloads in opts.Format, PipelineRun attestations off) and
// runs the Chains controller as its ServiceAccount, with its key in a
// directory only this process reads. It returns once Chains holds its
// TaskRun lease.
//
// PipelineRun attestations are off because Chains never signs a
// PipelineRun that has a custom-task child (it looks every child up as a
// TaskRun): the gate works with TaskRun provenance.
func (e *Env) StartChains(ctx context.Context, opts ChainsOptions) (*Chains, error) {
	var c *Chains
	err := e.timed("start chains", func() error {
		bin := filepath.Join(e.BinDir, "chains-controller")
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("chains-controller missing in %s: run hack/e2e-tools.sh chains-controller", e.BinDir)
		}
		keyDir, pub, err := e.chainsKey(ctx)
		if err != nil {
			return err
		}
		if err := e.ConfigureChains(ctx, opts); err != nil {
			return err
		}
		kc, err := e.ServiceAccountKubeconfig(ctx, ChainsNamespace, ChainsServiceAccount)
		if err != nil {
			return err
		}
		env, err := knativeEnv(ChainsNamespace, kc, "tekton-chains-config-leader-election")
		if err != nil {
			return err
		}
		fromManifest, err := e.chainsDeploymentEnv()
		if err != nil {
			return err
		}
		env = append(env, fromManifest...)
		args := []string{"-signing-secrets=" + keyDir}
		if len(opts.Namespaces) > 0 {
			args = append(args, "-namespace="+strings.Join(opts.Namespaces, ","))
		}
		before := e.leaseHolders(ctx, ChainsNamespace)
		p, err := startProcess(e.Dir, "chains-controller", env, bin, args...)
		if err != nil {
			return err
		}
		e.track(p)
		c = &Chains{Process: p, PublicKeyPEM: pub, KeyDir: keyDir}
		// Ready when a TaskRun lease is held by an identity that held none
		// before: this process, not a stopped predecessor.
		return e.waitProcess(ctx, p, 2*time.Minute, func(ctx context.Context) (bool, error) {
			ls, err := e.Kube.CoordinationV1().Leases(ChainsNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, l := range ls.Items {
				h := l.Spec.HolderIdentity
				if strings.Contains(l.Name, "taskrun") && h != nil && *h != "" && !before[*h] {
					return true, nil
				}
			}
			return false, nil
		})
	})
	return c, err
}

// ConfigureChains writes chains-config for opts. A running Chains picks the
// change up by itself, but without a signal of when; tests restart it
// instead (Stop, then StartChains).
func (e *Env) ConfigureChains(ctx context.Context, opts ChainsOptions) error {
	format := opts.Format
	if format == "" {
		format = ChainsFormatSLSAv2Alpha4
	}
	data := map[string]any{
		"artifacts.taskrun.format":      format,
		"artifacts.taskrun.storage":     "oci",
		"artifacts.taskrun.signer":      "x509",
		"artifacts.oci.storage":         "oci",
		"artifacts.oci.format":          "simplesigning",
		"artifacts.oci.signer":          "x509",
		"artifacts.pipelinerun.storage": "",
		"transparency.enabled":          "false",
	}
	if opts.BuilderID != "" {
		data["builder.id"] = opts.BuilderID
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "chains-config", "namespace": ChainsNamespace},
		"data":     data,
	}}
	return e.Apply(ctx, []*unstructured.Unstructured{cm})
}

// chainsKey makes Chains' signing key once per Env, as the installation
// guide does (`cosign generate-key-pair k8s://tekton-chains/signing-secrets`):
// an encrypted cosign key and its password, in the signing-secrets Secret
// and in the directory the process reads them from. It returns the
// directory and the public key.
func (e *Env) chainsKey(ctx context.Context) (dir, pub string, err error) {
	dir = filepath.Join(e.Dir, "chains-signing-secrets")
	if b, err := os.ReadFile(filepath.Join(dir, "cosign.pub")); err == nil {
		return dir, string(b), nil
	}
	password := []byte("e2e-chains")
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return "", "", fmt.Errorf("chains signing key: %w", err)
	}
	files := map[string][]byte{
		"cosign.key":      keys.PrivateBytes,
		"cosign.password": password,
		"cosign.pub":      keys.PublicBytes,
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", "", err
		}
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "signing-secrets", Namespace: ChainsNamespace},
		Data:       files,
	}
	if _, err := e.Kube.CoreV1().Secrets(ChainsNamespace).Update(ctx, secret, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
		_, err = e.Kube.CoreV1().Secrets(ChainsNamespace).Create(ctx, secret, metav1.CreateOptions{})
		if err != nil {
			return "", "", err
		}
	} else if err != nil {
		return "", "", err
	}
	return dir, string(keys.PublicBytes), nil
}

// chainsDeploymentEnv is the literal environment of the Deployment in
// Chains' config/ (METRICS_DOMAIN, the config map names, the minimum
// Kubernetes version); SYSTEM_NAMESPACE, from the downward API there, is
// the harness's.
func (e *Env) chainsDeploymentEnv() ([]string, error) {
	objs, err := e.chainsManifests()
	if err != nil {
		return nil, err
	}
	var out []string
	forDeploymentEnv(objs, func(_ *unstructured.Unstructured, name string, m map[string]any) {
		if v, ok := m["value"].(string); ok && name != "SYSTEM_NAMESPACE" {
			out = append(out, name+"="+v)
		}
	})
	if !slices.ContainsFunc(out, func(s string) bool { return strings.HasPrefix(s, "CONFIG_OBSERVABILITY_NAME=") }) {
		return nil, fmt.Errorf("chains config: no Deployment environment found in .cache/chains/config")
	}
	return out, nil
}

// leaseHolders lists the identities holding leases in namespace ns (none
// when the list fails).
func (e *Env) leaseHolders(ctx context.Context, ns string) map[string]bool {
	out := map[string]bool{}
	ls, err := e.Kube.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return out
	}
	for _, l := range ls.Items {
		if h := l.Spec.HolderIdentity; h != nil && *h != "" {
			out[*h] = true
		}
	}
	return out
}

// ChainsVerdict waits until Chains has annotated the TaskRun
// (chains.tekton.dev/signed is "true" or "failed") and returns the value.
// timeout bounds a hang; it is not an assertion on speed.
func (e *Env) ChainsVerdict(ctx context.Context, ns, taskRun string, timeout time.Duration) (string, error) {
	var verdict string
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		tr, err := e.Tekton.TektonV1().TaskRuns(ns).Get(ctx, taskRun, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		verdict = tr.Annotations[ChainsSignedAnnotation]
		return verdict == "true" || verdict == "failed", nil
	})
	if err != nil {
		return "", fmt.Errorf("TaskRun %s/%s: no %s annotation: %v (last error: %v)", ns, taskRun, ChainsSignedAnnotation, err, last)
	}
	return verdict, nil
}

// RemoveChainsFinalizers strips Chains' finalizer from every TaskRun in ns,
// so the namespace can be deleted once Chains no longer runs.
func (e *Env) RemoveChainsFinalizers(ctx context.Context, ns string) error {
	trs, err := e.Tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, tr := range trs.Items {
		if !slices.Contains(tr.Finalizers, ChainsTaskRunFinalizer) {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(tr.Finalizers), func(f string) bool { return f == ChainsTaskRunFinalizer })
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": kept, "resourceVersion": tr.ResourceVersion}})
		if err != nil {
			return err
		}
		if _, err := e.Tekton.TektonV1().TaskRuns(ns).Patch(ctx, tr.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("remove Chains' finalizer from TaskRun %s/%s: %w", ns, tr.Name, err)
		}
	}
	return nil
}
