// Package pipelinerunresolver supplies the gate engine with exactly what a
// live PipelineRun will execute, read from the cluster.
//
// It implements gate.Resolver and gate.BundlePinner over a Source: either
// informer listers (the controller) or plain clientsets (the CLI's
// `security-gate verify --pipelinerun NAME`). References by name come from
// the run's namespace; remote references (bundles and every other resolver)
// come from the ResolutionRequests Tekton's PipelineRun reconciler already
// created and completed for this run, so the gate judges the very bytes the
// TaskRuns will later read, and a bundle is pinned at the digest Tekton
// resolved rather than at whatever its tag points to now.
//
// Nothing here ever reads another namespace: a run can only make the gate
// look at objects its own namespace holds.
package pipelinerunresolver
