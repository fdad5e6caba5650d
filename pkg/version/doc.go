// Package version holds the build's version, injected at link time:
//
//	go build -ldflags "-X github.com/security-gate/security-gate/pkg/version.Version=v0.1.0 \
//	  -X github.com/security-gate/security-gate/pkg/version.Commit=$(git rev-parse HEAD)" ./cmd/security-gate
//
// Without ldflags, Get falls back to what the Go toolchain recorded in the
// binary (module version, VCS revision), so a `go install` build still says
// where it came from.
package version
