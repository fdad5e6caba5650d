// Package manifest reads the Tekton objects security-gate verifies from YAML
// or JSON: multi-document streams, files, directories (recursively) and
// stdin.
//
// It accepts PipelineRun, Pipeline, TaskRun, Task and StepAction in
// tekton.dev/v1 and tekton.dev/v1beta1. v1beta1 Pipelines, PipelineRuns,
// Tasks and TaskRuns are converted to v1 with Tekton's own ConvertTo, so the
// engine sees one version; StepAction stays v1beta1 (Tekton v1.15 serves it
// in no other version).
//
// The legacy `bundle:` field of taskRef and pipelineRef was removed from
// Tekton's types, so a plain decode would drop it silently and a bundle
// reference would become a reference by name. It is therefore rewritten in
// the raw document, before decoding, into the bundles-resolver form
// (`resolver: bundles`, params bundle/name/kind), and the object is annotated
// with gate.AnnotationLegacyBundleRefs so messages can name the field the
// author wrote.
//
// Anything that is not one of those kinds, or cannot be decoded (unknown
// fields included: a misspelt securityContext must not be ignored), is an
// error naming the file and the document number (1-based).
package manifest
