// Package output renders a gate.Report for people and for CI systems:
// text (a terminal), JSON (the contract of `security-gate verify -o json`),
// JUnit XML and SARIF 2.1.0.
//
// Every renderer is a pure function of the report, with no clock and no
// environment lookups, so that golden files pin the formats exactly and the
// CLI, the controller and tests all print the same thing for the same report.
// A nil report, or one whose verdict is not one of the four known verdicts, is
// rendered as "could not decide": a renderer never turns a missing answer into
// a pass.
package output
