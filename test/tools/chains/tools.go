//go:build tools

// Package tools pins Tekton Chains for the e2e suite. Chains requires its own
// (older) Tekton, Kubernetes and knative versions, which is why it has a
// module of its own. hack/e2e-tools.sh builds ./cmd/chains-controller in this
// module and copies Chains' config/ YAML from this same module version.
package tools

import (
	_ "github.com/tektoncd/chains/pkg/reconciler/taskrun"
)
