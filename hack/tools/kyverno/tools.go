//go:build tools

// Package tools pins the Kyverno CLI (kubectl-kyverno) that
// hack/kyverno-test.sh builds into .cache/bin/kyverno to run the admission
// policy tests in test/kyverno. It lives in its own module because Kyverno's
// dependency graph is large and must not leak into the root module.
package tools

import (
	_ "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno"
)
