// Package engine checks the engine against the representative pipelines of
// test/testdata: each case directory holds policy.yaml, input.yaml (the
// objects of one verification, multi-document) and report.expected.json,
// the JSON report the engine must produce (the same object that
// `security-gate verify -o json` prints). Run with -update to rewrite the
// expected files after an intended change, and review the diff.
package engine
