//go:build e2e

package framework

// TaskResult is one Task result a completed Pod reports: Value is the text
// Tekton reads back, verbatim for a string result, JSON for an array or an
// object result.
type TaskResult struct {
	Name  string
	Value string
}
