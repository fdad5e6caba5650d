package gate

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnnotationLegacyBundleRefs is set by pkg/manifest on an object whose YAML
// used the legacy `bundle:` field of a taskRef or pipelineRef. Tekton's
// current types have no such field, so the manifest reader rewrites those
// references into the bundles-resolver form and records here, as a
// comma-separated list of LegacyBundleKey* values, which ones it rewrote;
// messages then name the field the author actually wrote.
const AnnotationLegacyBundleRefs = "securitygate.dev/legacy-bundle-refs"

// Keys of AnnotationLegacyBundleRefs.
const (
	// LegacyBundleKeyPipelineRef: a PipelineRun's spec.pipelineRef.
	LegacyBundleKeyPipelineRef = "pipelineRef"
	// LegacyBundleKeyTaskRef: a TaskRun's spec.taskRef.
	LegacyBundleKeyTaskRef = "taskRef"
)

// LegacyBundleKeyPipelineTask is the key of the taskRef of a pipeline task
// (tasks or finally; their names are unique within a pipeline).
func LegacyBundleKeyPipelineTask(name string) string { return "task/" + name }

func isLegacyBundle(meta metav1.ObjectMeta, key string) bool {
	v := meta.Annotations[AnnotationLegacyBundleRefs]
	if v == "" {
		return false
	}
	for _, k := range strings.Split(v, ",") {
		if k == key {
			return true
		}
	}
	return false
}
