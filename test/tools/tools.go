//go:build tools

// Package tools pins the binaries that integration tests, end-to-end tests
// and benchmarks run (see hack/build-test-tools.sh). It is never built.
//
// cosign v3 lives in its own module (cosign3/) because its dependency graph
// (sigstore-go, protobuf-specs) cannot share one module with cosign v2.
package tools

import (
	_ "github.com/sigstore/cosign/v2/cmd/cosign"
)
