// Command security-gate verifies what a Tekton PipelineRun will execute
// against a security policy, outside a cluster or from a step inside one.
//
//	security-gate verify --policy FILE [-f FILE|DIR|-]... [--image REF]... [-o text|json|junit|sarif] [--] [IMAGE...]
//	security-gate verify --policy-name NAME --pipelinerun NAME [--namespace NS] [--kubeconfig FILE]
//	                     [--controller-namespace NS] [--gate-task NAME] [--results-dir DIR] [--] [IMAGE...]
//	security-gate verify --policy-name NAME --taskrun NAME [--namespace NS] [--results-dir DIR] [--] [IMAGE...]
//	security-gate version
//
// The --taskrun form is the catalog Task's (tasks/security-gate): the run is
// the one the TaskRun belongs to (taskrun.go), the policy is
// a ClusterSecurityGate read from the cluster, key.secretRefs resolve in the
// controller's namespace as the controller resolves them, and the four
// results are written as files with the controller's values (pkg/results).
//
// Exit status: 0 passed (possibly with warnings), 1 at least one violation in
// mode Enforce, 2 could not decide (usage, policy, input, registry, cluster or
// timeout trouble). Nothing that could not be decided exits 0.
//
// All logic sits in run, which takes its arguments and streams, so tests call
// the command in-process exactly as a user would; runWith also takes the
// cluster connection, which tests replace with fake clientsets.
package main
