//go:build tools

// Package tools pins the Kubernetes control-plane binaries the e2e suite runs.
// hack/e2e-tools.sh builds them with `go build` inside this module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
