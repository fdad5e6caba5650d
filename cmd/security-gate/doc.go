// Command security-gate verifies what a Tekton PipelineRun will execute
// against a security policy, outside a cluster or from a step inside one.
//
//	security-gate verify --policy FILE [-f FILE|DIR|-]... [--image REF]... [-o text|json|junit|sarif]
//	security-gate verify --policy FILE --pipelinerun NAME [--namespace NS] [--kubeconfig FILE]
//	security-gate version
//
// Exit status: 0 passed (possibly with warnings), 1 at least one violation in
// mode Enforce, 2 could not decide (usage, policy, input, registry, cluster or
// timeout trouble). Nothing that could not be decided exits 0.
//
// All logic sits in run, which takes its arguments and streams, so tests call
// the command in-process exactly as a user would.
package main
