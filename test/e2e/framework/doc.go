//go:build e2e

// Package framework runs a real, throw-away control plane for the e2e suite:
// etcd, kube-apiserver, Tekton Pipelines' controller and resolvers, a loopback
// OCI registry, the security-gate controller and, where a scenario needs it,
// Tekton Chains, each as a process (or, for the registry, in-process) on free
// loopback ports.
//
// Every process is started with its own log file and stopped by PID (SIGTERM,
// wait, SIGKILL) when the suite ends, also when it fails; the kernel kills any
// that survive the test binary (Pdeathsig). Readiness is always a condition
// polled on the API (/readyz, CRDs Established, a lease held), never a sleep.
//
// The binaries come from hack/e2e-tools.sh (.cache/bin); Tekton's manifests
// from .cache/tekton/config, copied from the same module version.
package framework
