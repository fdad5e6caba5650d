//go:build tools

// Package tools pins the code generators and build tools this repository
// runs (see hack/update-codegen.sh and the Makefile). It is never built.
package tools

import (
	_ "k8s.io/code-generator/cmd/client-gen"
	_ "k8s.io/code-generator/cmd/deepcopy-gen"
	_ "k8s.io/code-generator/cmd/informer-gen"
	_ "k8s.io/code-generator/cmd/lister-gen"
	_ "knative.dev/pkg/codegen/cmd/injection-gen"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
	// ko builds the controller and CLI images (.ko.yaml, config/).
	_ "github.com/google/ko"
)
