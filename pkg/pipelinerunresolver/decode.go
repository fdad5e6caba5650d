package pipelinerunresolver

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/gate"
)

// decodeData turns a ResolutionRequest's status.data (base64 of the YAML or
// JSON document a resolver returned) into the v1 object the engine expects.
// wantKind is the gate.Kind* the reference asked for: content of another
// kind is an error, never silently accepted. Decoding is lenient about
// unknown fields on purpose: Tekton drops them the same way, and the gate must
// judge the object Tekton will run, not reject it for what Tekton ignores.
func decodeData(ctx context.Context, data, wantKind string) (runtime.Object, error) {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("status.data is not base64: %w", err)
	}
	return decodeObject(ctx, raw, wantKind)
}

func decodeObject(ctx context.Context, raw []byte, wantKind string) (runtime.Object, error) {
	var tm runtime.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, fmt.Errorf("content is not a YAML or JSON object: %w", err)
	}
	if tm.Kind != wantKind {
		return nil, fmt.Errorf("content is kind %q (apiVersion %q), want %s", tm.Kind, tm.APIVersion, wantKind)
	}
	switch {
	case tm.Kind == gate.KindTask && tm.APIVersion == "tekton.dev/v1":
		t := &v1.Task{}
		if err := yaml.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("decoding tekton.dev/v1 Task: %w", err)
		}
		return t, nil
	case tm.Kind == gate.KindTask && tm.APIVersion == "tekton.dev/v1beta1":
		b := &v1beta1.Task{}
		if err := yaml.Unmarshal(raw, b); err != nil {
			return nil, fmt.Errorf("decoding tekton.dev/v1beta1 Task: %w", err)
		}
		t := &v1.Task{}
		if err := b.ConvertTo(ctx, t); err != nil {
			return nil, fmt.Errorf("converting v1beta1 Task %q to v1: %w", b.Name, err)
		}
		t.APIVersion, t.Kind = "tekton.dev/v1", gate.KindTask
		return t, nil
	case tm.Kind == gate.KindPipeline && tm.APIVersion == "tekton.dev/v1":
		p := &v1.Pipeline{}
		if err := yaml.Unmarshal(raw, p); err != nil {
			return nil, fmt.Errorf("decoding tekton.dev/v1 Pipeline: %w", err)
		}
		return p, nil
	case tm.Kind == gate.KindPipeline && tm.APIVersion == "tekton.dev/v1beta1":
		b := &v1beta1.Pipeline{}
		if err := yaml.Unmarshal(raw, b); err != nil {
			return nil, fmt.Errorf("decoding tekton.dev/v1beta1 Pipeline: %w", err)
		}
		p := &v1.Pipeline{}
		if err := b.ConvertTo(ctx, p); err != nil {
			return nil, fmt.Errorf("converting v1beta1 Pipeline %q to v1: %w", b.Name, err)
		}
		p.APIVersion, p.Kind = "tekton.dev/v1", gate.KindPipeline
		return p, nil
	case tm.Kind == gate.KindStepAction && strings.HasPrefix(tm.APIVersion, "tekton.dev/"):
		s := &v1beta1.StepAction{}
		if err := yaml.Unmarshal(raw, s); err != nil {
			return nil, fmt.Errorf("decoding %s StepAction: %w", tm.APIVersion, err)
		}
		s.APIVersion, s.Kind = "tekton.dev/v1beta1", gate.KindStepAction
		return s, nil
	}
	return nil, fmt.Errorf("unsupported apiVersion %q for kind %s (want tekton.dev/v1 or tekton.dev/v1beta1)", tm.APIVersion, tm.Kind)
}
