//go:build e2e

package framework

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	resolutionclient "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure Start.
type Options struct {
	// Root is the repository root; found from the working directory when empty.
	Root string
	// Logf reports progress (e.g. log.Printf); nil is silent.
	Logf func(format string, args ...any)
}

// Env is a running control plane. Stop it with Stop, always.
type Env struct {
	Root   string // repository root
	Dir    string // work directory: PKI, data, kubeconfigs, logs
	BinDir string // .cache/bin

	Kubeconfig string // admin kubeconfig (system:masters)
	APIServer  string // https://127.0.0.1:PORT
	RESTConfig *rest.Config
	Kube       kubernetes.Interface
	Dynamic    dynamic.Interface
	Tekton     tektonclient.Interface
	Resolution resolutionclient.Interface
	Registry   *Registry

	// Timings of the start-up phases, in the order they ran.
	Timings []Timing

	logf   func(string, ...any)
	pki    *pki
	mapper *restmapper.DeferredDiscoveryRESTMapper

	mu    sync.Mutex
	procs []*Process
}

// Timing is the duration of one start-up phase.
type Timing struct {
	Phase    string
	Duration time.Duration
}

func (e *Env) timed(phase string, f func() error) error {
	t0 := time.Now()
	err := f()
	e.Timings = append(e.Timings, Timing{phase, time.Since(t0)})
	e.logf("e2e: %-28s %v", phase, time.Since(t0).Round(time.Millisecond))
	return err
}

// FindRoot walks up from the working directory to the repository's go.mod.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/security-gate/security-gate\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root not found above the working directory")
		}
		dir = parent
	}
}

// Start runs etcd and kube-apiserver. On error everything already started is
// stopped again.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	e := &Env{Root: opts.Root, logf: opts.Logf}
	if e.logf == nil {
		e.logf = func(string, ...any) {}
	}
	if e.Root == "" {
		if e.Root, err = FindRoot(); err != nil {
			return nil, err
		}
	}
	e.BinDir = filepath.Join(e.Root, ".cache", "bin")
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(e.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s missing in %s: run hack/e2e-tools.sh first", b, e.BinDir)
		}
	}
	if e.Dir, err = os.MkdirTemp("", "security-gate-e2e-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	if err := e.timed("pki", func() (err error) { e.pki, err = makePKI(e.Dir); return err }); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	if err := e.timed("etcd", func() error { return e.startEtcd(ctx, etcdURL, ports[1]) }); err != nil {
		return nil, err
	}
	e.APIServer = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	if err := e.timed("kube-apiserver", func() error { return e.startAPIServer(ctx, etcdURL, ports[2]) }); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) track(p *Process) {
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
}

// Processes returns the processes started so far, oldest first.
func (e *Env) Processes() []*Process {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Process(nil), e.procs...)
}

// Stop stops every process in reverse start order, and the registry. The work
// directory (logs) is removed unless E2E_KEEP=1.
func (e *Env) Stop() {
	procs := e.Processes()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(10 * time.Second)
	}
	if e.Registry != nil {
		e.Registry.Close()
	}
	if e.Dir != "" && os.Getenv("E2E_KEEP") != "1" {
		_ = os.RemoveAll(e.Dir) // best effort: a leftover dir only costs disk
	}
}

// MemoryReport lists each process's peak RSS.
func (e *Env) MemoryReport() string {
	var b strings.Builder
	var total float64
	for _, p := range e.Processes() {
		m := p.PeakMemoryMiB()
		total += m
		fmt.Fprintf(&b, "  %-26s %7.1f MiB\n", p.Name, m)
	}
	fmt.Fprintf(&b, "  %-26s %7.1f MiB (sum of peaks)\n", "all processes", total)
	return b.String()
}

func (e *Env) startEtcd(ctx context.Context, clientURL string, peerPort int) error {
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	p, err := startProcess(e.Dir, "etcd", nil, filepath.Join(e.BinDir, "etcd"),
		"--name=e2e",
		"--data-dir="+filepath.Join(e.Dir, "etcd-data"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=e2e="+peer,
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	e.track(p)
	hc := &http.Client{Timeout: time.Second}
	return e.waitProcess(ctx, p, time.Minute, func(ctx context.Context) (bool, error) {
		resp, err := hc.Get(clientURL + "/health")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// waitProcess polls cond until it holds, failing early (with the log tail)
// if p exits.
func (e *Env) waitProcess(ctx context.Context, p *Process, timeout time.Duration, cond wait.ConditionWithContextFunc) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if ok, err := p.Exited(); ok {
			return false, fmt.Errorf("%s exited: %v", p.Name, err)
		}
		return cond(ctx)
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w\n--- %s (last lines)\n%s", p.Name, err, p.LogPath, p.LogTail(30))
	}
	return nil
}

const saIssuer = "https://kubernetes.default.svc.cluster.local"

func (e *Env) startAPIServer(ctx context.Context, etcdURL string, port int) error {
	p, err := startProcess(e.Dir, "kube-apiserver", nil, filepath.Join(e.BinDir, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file="+e.pki.ServingCert, "--tls-private-key-file="+e.pki.ServingKey,
		"--client-ca-file="+e.pki.CAFile,
		"--service-account-issuer="+saIssuer,
		"--service-account-key-file="+e.pki.SAPublic,
		"--service-account-signing-key-file="+e.pki.SAPrivate,
		"--api-audiences="+saIssuer,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		// A loopback advertise address is rejected by the endpoint reconciler
		// in an endless loop; nothing here needs the kubernetes Service.
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		// As on most clusters: a privileged container is a Pod the API
		// server stores (Pod Security admission judges it, per namespace),
		// so the suite can see what Tekton makes of a privileged step.
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	)
	if err != nil {
		return err
	}
	e.track(p)

	e.Kubeconfig = filepath.Join(e.Dir, "admin.kubeconfig")
	if err := e.writeKubeconfig(e.Kubeconfig, "admin", &clientcmdapi.AuthInfo{
		ClientCertificate: e.pki.AdminCert, ClientKey: e.pki.AdminKey,
	}); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	e.RESTConfig = cfg

	// /readyz directly, with the admin certificate.
	caPEM, err := os.ReadFile(e.pki.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(e.pki.AdminCert, e.pki.AdminKey)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{cert},
	}}}
	if err := e.waitProcess(ctx, p, 2*time.Minute, func(ctx context.Context) (bool, error) {
		resp, err := hc.Get(e.APIServer + "/readyz")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		return err
	}
	if e.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if e.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	if e.Tekton, err = tektonclient.NewForConfig(cfg); err != nil {
		return err
	}
	if e.Resolution, err = resolutionclient.NewForConfig(cfg); err != nil {
		return err
	}
	e.mapper = newMapper(e)
	return nil
}

// writeKubeconfig writes a kubeconfig for this API server with one user.
func (e *Env) writeKubeconfig(path, user string, auth *clientcmdapi.AuthInfo) error {
	c := clientcmdapi.NewConfig()
	c.Clusters["e2e"] = &clientcmdapi.Cluster{Server: e.APIServer, CertificateAuthority: e.pki.CAFile}
	c.AuthInfos[user] = auth
	c.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: user}
	c.CurrentContext = "e2e"
	return clientcmd.WriteToFile(*c, path)
}
