// Command controller is the security-gate Tekton custom-task controller: it
// reconciles CustomRuns that reference securitygate.dev/v1alpha1
// SecurityGate or ClusterSecurityGate and records the verdict on them.
//
// It runs under knative's sharedmain: SYSTEM_NAMESPACE is required;
// config-logging, config-observability and config-leader-election (names
// overridable with CONFIG_*_NAME) and config-security-gate are read from that
// namespace; sharedmain serves the health probes (/health, /readiness) on
// :8080 and the metrics configured in config-observability.
package main

import (
	"flag"
	"log"

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
	sharedmain.MainWithConfig(ctx, customrun.ControllerName, cfg, customrun.NewController(customrun.Options{}))
}
