// Command controller is the security-gate Tekton custom-task controller: it
// reconciles CustomRuns that reference securitygate.dev/v1alpha1
// SecurityGate or ClusterSecurityGate and records the verdict on them.
//
// It runs under knative's sharedmain: SYSTEM_NAMESPACE is required;
// config-logging, config-observability and config-leader-election (names
// overridable with CONFIG_*_NAME) and config-security-gate are read from that
// namespace; health probes are served on PROBES_PORT (default 8080).
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	"github.com/security-gate/security-gate/pkg/reconciler/customrun"
	"github.com/security-gate/security-gate/pkg/version"
)

func main() {
	namespace := flag.String("namespace", corev1.NamespaceAll, "Namespace to restrict informers to (default: all namespaces).")
	disableHA := flag.Bool("disable-ha", false, "Disable leader election (single replica, local development).")
	cfg := injection.ParseAndGetRESTConfigOrDie()

	v := version.Get()
	log.Printf("security-gate controller %s (commit %s, %s)", v.Version, v.Commit, v.GoVersion)

	ctx := injection.WithNamespaceScope(signals.NewContext(), *namespace)
	if *disableHA {
		ctx = sharedmain.WithHADisabled(ctx)
	}

	// knative's probe handling is not started by MainWithConfig for plain
	// controllers; serve /health and /readiness ourselves, as Tekton does.
	port := os.Getenv("PROBES_PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("/health", ok)
	mux.HandleFunc("/readiness", ok)
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			// Another process on this port (local runs): keep going, as
			// knative does; the probes then fail and say so.
			log.Printf("health probe server on :%s: %v", port, err)
		}
	}()

	sharedmain.MainWithConfig(ctx, customrun.ControllerName, cfg, customrun.NewController(customrun.Options{}))
}
