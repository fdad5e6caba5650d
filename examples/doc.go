// Package examples holds the walk-through of README.md as files, and the
// one thing both its readers and `make demo` need: substituting the
// placeholders (REGISTRY, DIGEST_…, PUBLIC_KEY, …) those files contain.
//
// The files are embedded (Files) so the demo program publishes exactly what
// a newcomer reads, and examples_test.go validates them with Tekton's own
// validation and the gate's engine so they cannot rot.
package examples
