package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/gate"
)

// Document is one object read from a stream.
type Document struct {
	// Object is a *v1.PipelineRun, *v1.Pipeline, *v1.TaskRun, *v1.Task or
	// *v1beta1.StepAction.
	Object runtime.Object
	// Source is the file the document came from ("-" for stdin).
	Source string
	// Index is the 1-based position of the document in its source.
	Index int
}

// Error is a document that could not be read. It names the source and the
// document so a user can find it.
type Error struct {
	Source string
	// Index is the 1-based document number; 0 when the source itself could
	// not be read.
	Index int
	Err   error
}

func (e *Error) Error() string {
	if e.Index == 0 {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: document %d: %v", e.Source, e.Index, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// maxDocumentSize bounds one YAML document, so a hostile input cannot make
// the reader buffer without limit.
const maxDocumentSize = 16 << 20

// Parse reads every document of a YAML or JSON stream. Empty documents are
// skipped; a `kind: List` document contributes its items. The first bad
// document stops the parse with an *Error.
func Parse(r io.Reader, source string) ([]Document, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReaderSize(r, 64<<10))
	var docs []Document
	for index := 1; ; index++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, &Error{Source: source, Index: index, Err: err}
		}
		if len(raw) > maxDocumentSize {
			return nil, &Error{Source: source, Index: index, Err: fmt.Errorf("document larger than %d bytes", maxDocumentSize)}
		}
		objs, err := parseDocument(raw, true)
		if err != nil {
			return nil, &Error{Source: source, Index: index, Err: err}
		}
		for _, o := range objs {
			docs = append(docs, Document{Object: o, Source: source, Index: index})
		}
	}
}

// ParseBytes is Parse over a byte slice.
func ParseBytes(data []byte, source string) ([]Document, error) {
	return Parse(bytes.NewReader(data), source)
}

// Objects returns the objects of docs, in order.
func Objects(docs []Document) []runtime.Object {
	out := make([]runtime.Object, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.Object)
	}
	return out
}

// DecodeResolved decodes one document that Tekton itself resolved (the
// content of a ResolutionRequest) into the same v1 objects Parse returns.
// Unlike Parse it drops unknown fields instead of rejecting them: Tekton drops
// them the same way, and the gate must judge the object Tekton will run. An
// empty document, or more than one object, is an error.
func DecodeResolved(raw []byte) (runtime.Object, error) {
	if len(raw) > maxDocumentSize {
		return nil, fmt.Errorf("document larger than %d bytes", maxDocumentSize)
	}
	objs, err := parseDocument(raw, false)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("holds %d objects, want exactly one", len(objs))
	}
	return objs[0], nil
}

func parseDocument(raw []byte, strict bool) (objs []runtime.Object, err error) {
	// Tekton's conversion code was not written for hostile input; a panic in
	// it must become an error naming the document, never a crash.
	defer func() {
		if r := recover(); r != nil {
			objs, err = nil, fmt.Errorf("cannot convert document: %v", r)
		}
	}()
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("a document must be an object with apiVersion and kind: %w", err)
	}
	return decodeMap(m, 0, strict)
}

func decodeMap(m map[string]any, depth int, strict bool) ([]runtime.Object, error) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if kind == "List" && depth == 0 {
		items, _ := m["items"].([]any)
		var out []runtime.Object
		for i, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("items[%d]: not an object", i)
			}
			objs, err := decodeMap(im, depth+1, strict)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	if apiVersion == "" || kind == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	if apiVersion != "tekton.dev/v1" && apiVersion != "tekton.dev/v1beta1" {
		return nil, fmt.Errorf("unsupported apiVersion %q for kind %q: want tekton.dev/v1 or tekton.dev/v1beta1", apiVersion, kind)
	}
	legacy := rewriteLegacyBundles(kind, m)
	js, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	obj, err := decodeTyped(apiVersion, kind, js, strict)
	if err != nil {
		return nil, err
	}
	if len(legacy) > 0 {
		markLegacy(obj, legacy)
	}
	return []runtime.Object{obj}, nil
}

// decodeTyped decodes strictly for input people wrote: an unknown field is an
// error, because a misspelt field (securityContex) would otherwise be
// verified as absent. strict=false is for content Tekton resolved.
func decodeTyped(apiVersion, kind string, js []byte, strict bool) (runtime.Object, error) {
	src, err := newTyped(apiVersion, kind)
	if err != nil {
		return nil, err
	}
	if kind == "StepAction" {
		// StepAction is served as v1beta1 only by Tekton v1.15; a v1
		// document is decoded into the same shape rather than rejected.
		apiVersion = "tekton.dev/v1beta1"
	}
	strictErrs, err := kjson.UnmarshalStrict(js, src)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, apiVersion, cleanJSONError(err))
	}
	if strict && len(strictErrs) > 0 {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		return nil, fmt.Errorf("%s %s: %s", kind, apiVersion, strings.Join(msgs, "; "))
	}
	src.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	return gate.ToV1(src)
}

// newTyped returns an empty object of the Tekton type for apiVersion and
// kind (apiVersion is tekton.dev/v1 or tekton.dev/v1beta1).
func newTyped(apiVersion, kind string) (runtime.Object, error) {
	v1beta := apiVersion == "tekton.dev/v1beta1"
	pick := func(v1obj, v1beta1obj runtime.Object) runtime.Object {
		if v1beta {
			return v1beta1obj
		}
		return v1obj
	}
	switch kind {
	case "PipelineRun":
		return pick(&v1.PipelineRun{}, &v1beta1.PipelineRun{}), nil
	case "Pipeline":
		return pick(&v1.Pipeline{}, &v1beta1.Pipeline{}), nil
	case "TaskRun":
		return pick(&v1.TaskRun{}, &v1beta1.TaskRun{}), nil
	case "Task":
		return pick(&v1.Task{}, &v1beta1.Task{}), nil
	case "StepAction":
		return &v1beta1.StepAction{}, nil
	}
	return nil, fmt.Errorf("unsupported kind %q (%s): want PipelineRun, Pipeline, TaskRun, Task or StepAction", kind, apiVersion)
}

func cleanJSONError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return errors.New(msg)
}
