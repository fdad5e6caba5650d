package oracle

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Features the corpus as a whole must exercise. Each is detected from the
// case's objects, not declared by the case, so the corpus cannot claim
// coverage it does not have.
const (
	FeatureMatrix               = "matrix"
	FeatureMatrixInclude        = "matrix include"
	FeatureMatrixFromResult     = "matrix param from a task result"
	FeatureParamString          = "string param"
	FeatureParamArray           = "array param"
	FeatureParamObject          = "object param"
	FeatureRunParams            = "PipelineRun param overrides"
	FeaturePropagatedParams     = "propagated params"
	FeatureStepActionParams     = "StepAction with params"
	FeatureStepTemplate         = "stepTemplate"
	FeatureSidecars             = "sidecars"
	FeatureFinally              = "finally"
	FeatureWhen                 = "when"
	FeatureTaskRunTemplatePod   = "taskRunTemplate podTemplate"
	FeatureTaskRunSpecsPod      = "taskRunSpecs podTemplate"
	FeatureTaskRunSpecsMetadata = "taskRunSpecs metadata"
	FeatureRunAnnotations       = "PipelineRun annotations"
	FeatureTaskAnnotations      = "Task annotations"
	FeatureTaskSpecMetadata     = "embedded taskSpec metadata"
	FeatureAppArmorAnnotation   = "AppArmor annotation"
	FeatureV1beta1              = "tekton.dev/v1beta1 input"
)

// AllFeatures lists every feature the corpus must cover.
var AllFeatures = []string{
	FeatureMatrix, FeatureMatrixInclude, FeatureMatrixFromResult,
	FeatureParamString, FeatureParamArray, FeatureParamObject, FeatureRunParams, FeaturePropagatedParams,
	FeatureStepActionParams, FeatureStepTemplate, FeatureSidecars, FeatureFinally, FeatureWhen,
	FeatureTaskRunTemplatePod, FeatureTaskRunSpecsPod, FeatureTaskRunSpecsMetadata,
	FeatureRunAnnotations, FeatureTaskAnnotations, FeatureTaskSpecMetadata, FeatureAppArmorAnnotation,
	FeatureV1beta1,
}

// AppArmorAnnotationPrefix is the Pod annotation Pod Security Standards read
// an AppArmor profile from, per container.
const AppArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"

// Features returns the features a rendered case exercises, sorted.
func (r *Rendered) Features() []string {
	set := map[string]bool{}
	for _, o := range r.Objects {
		if o.GetAPIVersion() == "tekton.dev/v1beta1" && o.GetKind() != "StepAction" {
			set[FeatureV1beta1] = true
		}
		anns := o.GetAnnotations()
		for k := range anns {
			if strings.HasPrefix(k, AppArmorAnnotationPrefix) {
				set[FeatureAppArmorAnnotation] = true
			}
		}
		switch o.GetKind() {
		case "PipelineRun":
			if len(anns) > 0 {
				set[FeatureRunAnnotations] = true
			}
			if ps, _, _ := unstructured.NestedSlice(o.Object, "spec", "params"); len(ps) > 0 {
				set[FeatureRunParams] = true
			}
			if tpl, _, _ := unstructured.NestedMap(o.Object, "spec", "taskRunTemplate", "podTemplate"); len(tpl) > 0 {
				set[FeatureTaskRunTemplatePod] = true
			}
			// v1beta1 spells it spec.podTemplate.
			if tpl, _, _ := unstructured.NestedMap(o.Object, "spec", "podTemplate"); len(tpl) > 0 {
				set[FeatureTaskRunTemplatePod] = true
			}
			specs, _, _ := unstructured.NestedSlice(o.Object, "spec", "taskRunSpecs")
			for _, s := range specs {
				m, _ := s.(map[string]any)
				if m["podTemplate"] != nil || m["taskPodTemplate"] != nil {
					set[FeatureTaskRunSpecsPod] = true
				}
				if md, _ := m["metadata"].(map[string]any); len(md) > 0 {
					set[FeatureTaskRunSpecsMetadata] = true
					if a, _ := md["annotations"].(map[string]any); hasAppArmor(a) {
						set[FeatureAppArmorAnnotation] = true
					}
				}
			}
			if ps, ok, _ := unstructured.NestedMap(o.Object, "spec", "pipelineSpec"); ok {
				pipelineFeatures(ps, set)
			}
		case "Pipeline":
			if ps, ok, _ := unstructured.NestedMap(o.Object, "spec"); ok {
				pipelineFeatures(ps, set)
			}
		case "Task":
			if len(anns) > 0 {
				set[FeatureTaskAnnotations] = true
			}
			if ts, ok, _ := unstructured.NestedMap(o.Object, "spec"); ok {
				taskFeatures(ts, set, false)
			}
		case "StepAction":
			if ps, _, _ := unstructured.NestedSlice(o.Object, "spec", "params"); len(ps) > 0 {
				set[FeatureStepActionParams] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func hasAppArmor(a map[string]any) bool {
	for k := range a {
		if strings.HasPrefix(k, AppArmorAnnotationPrefix) {
			return true
		}
	}
	return false
}

func pipelineFeatures(ps map[string]any, set map[string]bool) {
	paramTypes(ps, set)
	if f, _ := ps["finally"].([]any); len(f) > 0 {
		set[FeatureFinally] = true
	}
	tasks, _ := ps["tasks"].([]any)
	finally, _ := ps["finally"].([]any)
	for _, t := range append(append([]any{}, tasks...), finally...) {
		pt, _ := t.(map[string]any)
		if w, _ := pt["when"].([]any); len(w) > 0 {
			set[FeatureWhen] = true
		}
		if m, _ := pt["matrix"].(map[string]any); len(m) > 0 {
			set[FeatureMatrix] = true
			if inc, _ := m["include"].([]any); len(inc) > 0 {
				set[FeatureMatrixInclude] = true
			}
			params, _ := m["params"].([]any)
			for _, p := range params {
				if strings.Contains(toText(p), "$(tasks.") {
					set[FeatureMatrixFromResult] = true
				}
			}
		}
		if ts, ok := pt["taskSpec"].(map[string]any); ok {
			if md, _ := ts["metadata"].(map[string]any); len(md) > 0 {
				set[FeatureTaskSpecMetadata] = true
				if a, _ := md["annotations"].(map[string]any); hasAppArmor(a) {
					set[FeatureAppArmorAnnotation] = true
				}
			}
			taskFeatures(ts, set, true)
		}
	}
}

func taskFeatures(ts map[string]any, set map[string]bool, embedded bool) {
	paramTypes(ts, set)
	if st, _ := ts["stepTemplate"].(map[string]any); len(st) > 0 {
		set[FeatureStepTemplate] = true
	}
	if sc, _ := ts["sidecars"].([]any); len(sc) > 0 {
		set[FeatureSidecars] = true
	}
	steps, _ := ts["steps"].([]any)
	for _, s := range steps {
		st, _ := s.(map[string]any)
		if ref, _ := st["ref"].(map[string]any); len(ref) > 0 {
			if ps, _ := st["params"].([]any); len(ps) > 0 {
				set[FeatureStepActionParams] = true
			}
		}
	}
	// Propagated: an embedded task that declares no params but uses one.
	if _, declares := ts["params"]; embedded && !declares && strings.Contains(toText(ts), "$(params.") {
		set[FeaturePropagatedParams] = true
	}
}

func paramTypes(spec map[string]any, set map[string]bool) {
	params, _ := spec["params"].([]any)
	for _, p := range params {
		m, _ := p.(map[string]any)
		switch m["type"] {
		case "array":
			set[FeatureParamArray] = true
		case "object":
			set[FeatureParamObject] = true
		default:
			set[FeatureParamString] = true
		}
	}
}

// toText flattens a decoded YAML value to its string leaves, for searching.
func toText(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}
