//go:build tools

// Package tools pins golangci-lint, which hack/lint.sh builds into
// .cache/bin/golangci-lint for `make lint` and `make test-unit`. It lives in
// its own module so the linters' dependency graph stays out of the root
// module.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
)
