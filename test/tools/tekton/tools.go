//go:build tools

// Package tools pins Tekton Pipelines' controller and resolvers for the e2e
// suite; hack/e2e-tools.sh builds them and copies Tekton's config/ YAML from
// this same module version, so binaries and manifests always agree.
package tools

import (
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "github.com/tektoncd/pipeline/cmd/resolvers"
)
