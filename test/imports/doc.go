// Package imports holds the test that enforces which package of this module
// may link which: the rules docs/architecture.md states under "Which
// package may import which". It asks `go list` for each package's
// transitive dependencies (test files excluded), so a rule holds for
// everything a binary built from the package links, not only for its
// import lines.
package imports
