package v1alpha1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Policy is one parsed, defaulted and validated policy document, whichever
// of the two kinds it was.
//
// +k8s:deepcopy-gen=false
type Policy struct {
	// Kind is KindSecurityGate or KindClusterSecurityGate.
	Kind string
	// ObjectMeta is the document's metadata (name, namespace, labels...).
	ObjectMeta metav1.ObjectMeta
	// Spec is defaulted and valid.
	Spec SecurityGateSpec
}

// String names the policy as kind/name (kind/namespace/name when namespaced).
func (p *Policy) String() string {
	if p.ObjectMeta.Namespace != "" {
		return p.Kind + "/" + p.ObjectMeta.Namespace + "/" + p.ObjectMeta.Name
	}
	return p.Kind + "/" + p.ObjectMeta.Name
}

// ErrInvalidPolicy is what every error of ParsePolicy, DecodeSpec and
// DefaultAndValidate is (errors.Is), so callers can tell a bad policy
// (could not decide, exit 2) from other failures.
var ErrInvalidPolicy = errors.New("invalid policy")

// InvalidPolicyError says why a policy cannot be used, as data: a problem
// with the document as a whole, or the list of field problems, each with
// its path from the document's root and what is expected. Callers list the
// field problems one by one (Problems); nothing needs to re-parse the text.
//
// +k8s:deepcopy-gen=false
type InvalidPolicyError struct {
	// Policy names the policy (kind/name, or what the caller calls it);
	// empty when the document was not read far enough to know.
	Policy string
	// Reason is a problem of the document as a whole: not YAML, not exactly
	// one document, the wrong apiVersion or kind, a value of the wrong type.
	// Empty when Fields say it all.
	Reason string
	// Fields are the problems of single fields (unknown fields, a missing
	// spec, every Validate error), paths starting at the document's root
	// ("spec.images.authorities[0]").
	Fields *apis.FieldError
}

// Error says "invalid policy: <policy>: <problem>" on one line, or, with
// several problems, one line each after that header.
func (e *InvalidPolicyError) Error() string {
	problems := e.problems()
	if len(problems) == 1 {
		return e.header() + ": " + problems[0]
	}
	return e.header() + ":\n" + strings.Join(problems, "\n")
}

// Is makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *InvalidPolicyError) Is(target error) bool { return target == ErrInvalidPolicy }

// Problems returns one message per problem, each whole: "invalid policy:
// <policy>: <problem>: <field paths>; <what is expected>", as in
// "invalid policy: ClusterSecurityGate/p: invalid value: Block: spec.mode;
// allowed: Enforce, Warn". Renderers list them one finding each.
func (e *InvalidPolicyError) Problems() []string {
	out := e.problems()
	for i := range out {
		out[i] = e.header() + ": " + out[i]
	}
	return out
}

func (e *InvalidPolicyError) header() string {
	if e.Policy == "" {
		return ErrInvalidPolicy.Error()
	}
	return ErrInvalidPolicy.Error() + ": " + e.Policy
}

func (e *InvalidPolicyError) problems() []string {
	var out []string
	if e.Reason != "" {
		out = append(out, e.Reason)
	}
	for _, fe := range e.Fields.WrappedErrors() {
		line := fe.Message
		if len(fe.Paths) > 0 {
			line += ": " + strings.Join(fe.Paths, ", ")
		}
		if fe.Details != "" {
			line += "; " + strings.Join(strings.Fields(fe.Details), " ")
		}
		out = append(out, line)
	}
	return out
}

func invalid(policy, format string, args ...any) *InvalidPolicyError {
	return &InvalidPolicyError{Policy: policy, Reason: fmt.Sprintf(format, args...)}
}

// policyDoc is the strict decoding target: the kinds' shape, spec required.
//
// +k8s:deepcopy-gen=false
type policyDoc struct {
	metav1.TypeMeta `json:",inline"`
	ObjectMeta      metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec            *SecurityGateSpec `json:"spec"`
}

// ParsePolicy reads exactly one SecurityGate or ClusterSecurityGate from YAML
// or JSON (a multi-document stream may hold empty documents but only one
// policy), strictly: unknown and duplicate fields are errors naming their
// path. It then applies SetDefaults and Validate. Errors are
// *InvalidPolicyError (errors.Is ErrInvalidPolicy), listing every field
// problem.
func ParsePolicy(data []byte) (*Policy, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, invalid("", "%v", err)
	}
	switch len(docs) {
	case 0:
		return nil, invalid("", "no document found; want one %s or %s", KindSecurityGate, KindClusterSecurityGate)
	case 1:
	default:
		return nil, invalid("", "%d documents found; want exactly one %s or %s", len(docs), KindSecurityGate, KindClusterSecurityGate)
	}
	return parseDocument(docs[0])
}

func parseDocument(doc []byte) (*Policy, error) {
	var d policyDoc
	unknown := decodeStrict(doc, &d, "")
	if unknown != nil && unknown.Reason != "" {
		return nil, unknown
	}
	if want := SchemeGroupVersion.String(); d.APIVersion != want {
		return nil, invalid("", "apiVersion %q: want %q", d.APIVersion, want)
	}
	if d.Kind != KindSecurityGate && d.Kind != KindClusterSecurityGate {
		return nil, invalid("", "kind %q: want %s or %s", d.Kind, KindSecurityGate, KindClusterSecurityGate)
	}
	name := d.Kind + "/" + d.ObjectMeta.Name
	if d.Spec == nil {
		return nil, withFields(name, unknown, apis.ErrMissingField("spec"))
	}
	spec, err := DefaultAndValidate(context.Background(), name, d.Spec)
	if err != nil || unknown != nil {
		return nil, withFields(name, unknown, fieldsOf(err))
	}
	return &Policy{Kind: d.Kind, ObjectMeta: d.ObjectMeta, Spec: *spec}, nil
}

// DecodeSpec reads a policy's spec alone, as a CustomRun's inline
// customSpec carries it, with ParsePolicy's strict decoder (duplicate and
// unknown fields are errors, field names are case-sensitive), then defaults
// and validates it. policy names it in errors; paths start at "spec".
func DecodeSpec(ctx context.Context, policy string, data []byte) (*SecurityGateSpec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &InvalidPolicyError{Policy: policy, Fields: apis.ErrMissingField("spec")}
	}
	var spec SecurityGateSpec
	unknown := decodeStrict(data, &spec, "spec")
	if unknown != nil && unknown.Reason != "" {
		unknown.Policy = policy
		return nil, unknown
	}
	s, err := DefaultAndValidate(ctx, policy, &spec)
	if err != nil || unknown != nil {
		return nil, withFields(policy, unknown, fieldsOf(err))
	}
	return s, nil
}

// withFields is the error listing the unknown fields the decoder found and
// the other field problems, all of them at once.
func withFields(policy string, unknown *InvalidPolicyError, more *apis.FieldError) *InvalidPolicyError {
	e := &InvalidPolicyError{Policy: policy, Fields: more}
	if unknown != nil {
		e.Fields = unknown.Fields.Also(more)
	}
	return e
}

func fieldsOf(err error) *apis.FieldError {
	var e *InvalidPolicyError
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// DefaultAndValidate returns a copy of spec with its defaults applied
// (SetDefaults), or, when it is not valid, an *InvalidPolicyError naming
// policy with every field problem (paths start at "spec"). It is the one
// way a spec read from anywhere becomes one the engine accepts.
func DefaultAndValidate(ctx context.Context, policy string, spec *SecurityGateSpec) (*SecurityGateSpec, error) {
	s := spec.DeepCopy()
	s.SetDefaults(ctx)
	if fe := s.Validate(ctx); fe != nil {
		return nil, &InvalidPolicyError{Policy: policy, Fields: fe.ViaField("spec")}
	}
	return s, nil
}

// decodeStrict decodes one YAML or JSON object into v, refusing duplicate
// and unknown fields; field paths get prefix (the path of v in the
// document). What cannot be decoded at all is a Reason; unknown and
// duplicate fields are Fields, and v holds the rest, so every other problem
// can be listed beside them.
func decodeStrict(doc []byte, v any, prefix string) *InvalidPolicyError {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return invalid("", "not valid YAML or JSON: %v", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(js), []byte("{")) {
		if prefix != "" {
			return invalid("", "%s is not an object", prefix)
		}
		return invalid("", "the document is not an object; want one %s or %s", KindSecurityGate, KindClusterSecurityGate)
	}
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		what := "policy"
		if prefix != "" {
			what = prefix
		}
		return invalid("", "cannot decode %s: %v", what, err)
	}
	var fields *apis.FieldError
	for _, e := range strict {
		path := ""
		if fe, ok := e.(kjson.FieldError); ok {
			path = fe.FieldPath()
		}
		// The decoder's message is "<problem> \"<path>\"": keep the problem,
		// move the path to where paths go.
		msg := strings.TrimSuffix(e.Error(), " "+strconv.Quote(path))
		fe := &apis.FieldError{Message: msg, Paths: []string{path}}
		if prefix != "" {
			fe = fe.ViaField(prefix)
		}
		fields = fields.Also(fe)
	}
	if fields != nil {
		return &InvalidPolicyError{Fields: fields}
	}
	return nil
}

// splitDocuments splits a YAML stream at "---" lines and drops documents
// that hold only whitespace and comments.
func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if !isEmptyDocument(doc) {
			docs = append(docs, doc)
		}
	}
}

func isEmptyDocument(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") && l != "---" && l != "..." {
			return false
		}
	}
	return true
}
