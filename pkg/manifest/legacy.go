package manifest

import (
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/gate"
)

// rewriteLegacyBundles turns every legacy `bundle:` reference of a raw
// document into the bundles-resolver form, in place, and returns the keys
// (gate.LegacyBundleKey*) of the references it rewrote.
func rewriteLegacyBundles(kind string, doc map[string]any) []string {
	spec, _ := doc["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	var keys []string
	switch kind {
	case "PipelineRun":
		if rewriteRef(spec, "pipelineRef", "pipeline") {
			keys = append(keys, gate.LegacyBundleKeyPipelineRef)
		}
		if ps, ok := spec["pipelineSpec"].(map[string]any); ok {
			keys = append(keys, rewritePipelineTasks(ps)...)
		}
	case "Pipeline":
		keys = append(keys, rewritePipelineTasks(spec)...)
	case "TaskRun":
		if rewriteRef(spec, "taskRef", "task") {
			keys = append(keys, gate.LegacyBundleKeyTaskRef)
		}
	}
	return keys
}

func rewritePipelineTasks(ps map[string]any) []string {
	var keys []string
	for _, field := range []string{"tasks", "finally"} {
		tasks, _ := ps[field].([]any)
		for _, t := range tasks {
			pt, ok := t.(map[string]any)
			if !ok {
				continue
			}
			if rewriteRef(pt, "taskRef", "task") {
				name, _ := pt["name"].(string)
				keys = append(keys, gate.LegacyBundleKeyPipelineTask(name))
			}
		}
	}
	return keys
}

// rewriteRef rewrites holder[field] = {bundle, name, kind} into
// {resolver: bundles, params: [bundle, name, kind]}. defaultKind is the
// bundle layer kind when the reference names none.
func rewriteRef(holder map[string]any, field, defaultKind string) bool {
	ref, ok := holder[field].(map[string]any)
	if !ok {
		return false
	}
	bundle, ok := ref["bundle"].(string)
	if !ok || bundle == "" {
		delete(ref, "bundle")
		return false
	}
	name, _ := ref["name"].(string)
	kind := defaultKind
	if k, _ := ref["kind"].(string); k != "" && k != "Task" && k != "Pipeline" && k != "ClusterTask" {
		// A custom kind stays on the ref; it is not a bundle layer kind.
		kind = strings.ToLower(k)
	}
	delete(ref, "bundle")
	delete(ref, "name")
	ref["resolver"] = "bundles"
	ref["params"] = []any{
		map[string]any{"name": "bundle", "value": bundle},
		map[string]any{"name": "name", "value": name},
		map[string]any{"name": "kind", "value": kind},
	}
	return true
}

func markLegacy(obj runtime.Object, keys []string) {
	sort.Strings(keys)
	value := strings.Join(keys, ",")
	var ann *map[string]string
	switch o := obj.(type) {
	case *v1.PipelineRun:
		ann = &o.Annotations
	case *v1.Pipeline:
		ann = &o.Annotations
	case *v1.TaskRun:
		ann = &o.Annotations
	default:
		return
	}
	if *ann == nil {
		*ann = map[string]string{}
	}
	(*ann)[gate.AnnotationLegacyBundleRefs] = value
}
