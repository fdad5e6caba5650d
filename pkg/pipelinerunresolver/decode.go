package pipelinerunresolver

import (
	"encoding/base64"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/manifest"
)

// decodeData turns a ResolutionRequest's status.data (base64 of the YAML or
// JSON document a resolver returned) into the object the engine expects, with
// pkg/manifest's decoder in its lenient form: unknown fields are dropped, as
// Tekton drops them, so the gate judges the object Tekton will run. wantKind
// is the gate.Kind* the reference asked for: content of another kind is an
// error, never silently accepted.
func decodeData(data, wantKind string) (runtime.Object, error) {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("status.data is not base64: %w", err)
	}
	return decodeObject(raw, wantKind)
}

func decodeObject(raw []byte, wantKind string) (runtime.Object, error) {
	obj, err := manifest.DecodeResolved(raw)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	tm, err := meta.TypeAccessor(obj)
	if err != nil {
		return nil, err
	}
	if tm.GetKind() != wantKind {
		return nil, fmt.Errorf("content is kind %q (apiVersion %q), want %s", tm.GetKind(), tm.GetAPIVersion(), wantKind)
	}
	return obj, nil
}
