//go:build e2e

// Command demo is `make demo` (hack/demo.sh builds and runs it): the
// walk-through of examples/ on a real, local control plane.
//
// It starts etcd, kube-apiserver, Tekton's controller and resolvers and a
// loopback registry with test/e2e/framework; installs config/ and runs the
// security-gate controller as its own ServiceAccount; generates a cosign key
// pair; publishes the examples (signed images with a vuln attestation, the
// signed bundles, and the unsigned non-compliant sample) with the cosign CLI;
// applies the ClusterSecurityGate; runs the compliant and the non-compliant
// PipelineRun; and prints, for each, the gate's verdict and findings and what
// Tekton did. Every wait is on a condition, with a bound on a hang.
//
// There is no kubelet here: when the gate lets a TaskRun start, the demo
// marks its Pod Succeeded (as the e2e suite does), and says so.
//
// It exits 0 only when both runs end as the examples say they must; any
// other outcome is printed as DEMO FAILED with what differed. With -keep it
// stays up after the runs (KUBECONFIG and PIDs printed, state written to
// -state) until SIGTERM or SIGINT, then stops everything it started.
package main
