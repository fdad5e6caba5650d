//go:build tools

// Package tools pins the cosign v3 CLI used by interop tests (see
// hack/build-test-tools.sh). It is a module of its own so that cosign v3's
// dependencies never move cosign v2's in ../go.mod. It is never built.
package tools

import (
	_ "github.com/sigstore/cosign/v3/cmd/cosign"
)
