// Package local resolves references among a given set of Tekton objects:
// the files the CLI was given, or objects a test builds. A reference by name
// (no resolver) matches an object of the same kind and name in the run's
// namespace, or one that has no namespace. A remote-resolver reference
// (bundles, git, hub, cluster, http) is gate.ErrUnsupported: another
// Resolver in a Chain, such as the registry's bundle reader, loads those.
package local
