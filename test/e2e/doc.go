//go:build e2e

// Package e2e runs security-gate end to end on a real control plane (see
// package framework): Tekton creates the gate's CustomRun, our controller
// decides it under its own RBAC, and Tekton acts on the verdict.
//
//	hack/e2e-tools.sh && go test -tags e2e ./test/e2e/... -timeout 40m
//
// E2E_KEEP=1 keeps the work directory (process logs, kubeconfigs).
package e2e
