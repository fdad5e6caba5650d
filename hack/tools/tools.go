//go:build tools

// Package tools pins the code generators and build tools this repository
// runs (see hack/update-codegen.sh and the Makefile). It is never built.
package tools

import (
	_ "k8s.io/code-generator/cmd/deepcopy-gen"
)
