// Package oracle checks the gate against what Tekton actually created.
//
// A corpus of PipelineRuns (corpus/NN-name.yaml, one run per file, with the
// Pipelines, Tasks and StepActions it needs) runs on a real control plane
// with the gate in Warn mode, so Tekton proceeds whatever the gate finds.
// Tekton's own controller creates the TaskRuns and Pods; the driver plays the
// kubelet (every Pod succeeds, with the Task results a later task consumes).
// Then every Pod, as the API server stored it when Tekton created it, is
// judged without any model of Tekton:
//
//   - Pod Security Standards at the policy's level, evaluated by
//     k8s.io/pod-security-admission on the Pod's own spec and metadata;
//   - every container image.
//
// and compared with the gate's report for that run. A miss is a Pod that
// fails the level while the gate reported no security-context finding for
// that pipeline task (or a failing container the gate did not name), or an
// image Tekton put in a container that is neither in the gate's
// verified-images nor named by an image finding. Only the containers Tekton
// injects itself are left out, by name (InjectedContainers): they are
// Tekton's, not the pipeline author's, and the gate does not judge them.
//
// A corpus file starts with a header document:
//
//	oracle:
//	  level: restricted     # or baseline: the policy's securityContext.level
//	  pods: 3               # how many Pods Tekton must create for the run
//	  results:              # Task results the driver reports, by pipeline task
//	    produce: {images: ["{{image "a"}}", "{{unsigned "b"}}"]}
//
// The rest is Go text/template: {{.Policy}} is the ClusterSecurityGate to
// reference, {{image "n"}} a signed image with a clean scan (by digest),
// {{unsigned "n"}} an unsigned one, {{tag "n"}} a signed image by tag,
// {{critical "n"}} a signed image whose scan has a Critical CVE, and
// {{restricted}} a securityContext that meets the restricted level. Results
// not listed get a value of their declared type.
package oracle
