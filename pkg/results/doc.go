// Package results renders a gate.Report as the four string results of a
// security-gate run: verdict, violations, report and verified-images.
//
// The controller sets them on the CustomRun (status.results) and the CLI
// writes them as files for the catalog Task (--results-dir /tekton/results),
// so both forms of the gate give a pipeline exactly the same contract:
//
//	verdict          pass, warn, fail or error
//	violations       the number of violations, decimal
//	report           the findings as compact JSON, visibly truncated
//	                 ("omitted" and "note") when they do not fit the budget
//	verified-images  a JSON array of repo@sha256:… verified in this run,
//	                 never truncated (a partial list would be silently wrong)
//
// The package holds no Kubernetes client: it only knows the size rules, the
// budget of the controller (MaxBytes) and the way Tekton's entrypoint
// carries Task results in a container's termination message
// (BuildForTerminationMessage).
package results
