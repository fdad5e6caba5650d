// Package defaults is the one place the gate's tunable bounds are written:
// the verification cache, registry requests, parallelism and time budgets.
// The controller's config-security-gate (pkg/reconciler/config), the CLI's
// flags, the engine, pkg/verify and pkg/oci all read these constants, so a
// default is changed here or nowhere; README's tables state the same
// numbers (a test compares them).
package defaults
