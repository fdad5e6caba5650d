package v1alpha1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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

// ErrInvalidPolicy wraps every error ParsePolicy returns, so callers can tell
// a bad policy (could not decide, exit 2) from other failures.
var ErrInvalidPolicy = errors.New("invalid policy")

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
// path. It then applies SetDefaults and Validate; the error lists every field
// problem. Errors wrap ErrInvalidPolicy.
func ParsePolicy(data []byte) (*Policy, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}
	switch len(docs) {
	case 0:
		return nil, fmt.Errorf("%w: no document found; want one %s or %s", ErrInvalidPolicy, KindSecurityGate, KindClusterSecurityGate)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d documents found; want exactly one %s or %s", ErrInvalidPolicy, len(docs), KindSecurityGate, KindClusterSecurityGate)
	}
	p, err := parseDocument(docs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}
	return p, nil
}

func parseDocument(doc []byte) (*Policy, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %v", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(js), []byte("{")) {
		return nil, errors.New("the document is not an object; want one SecurityGate or ClusterSecurityGate")
	}
	var d policyDoc
	strict, err := kjson.UnmarshalStrict(js, &d, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("cannot decode policy: %v", err)
	}
	if want := SchemeGroupVersion.String(); d.APIVersion != want {
		return nil, fmt.Errorf("apiVersion %q: want %q", d.APIVersion, want)
	}
	if d.Kind != KindSecurityGate && d.Kind != KindClusterSecurityGate {
		return nil, fmt.Errorf("kind %q: want %s or %s", d.Kind, KindSecurityGate, KindClusterSecurityGate)
	}
	name := d.Kind + "/" + d.ObjectMeta.Name
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s: %s", name, strings.Join(msgs, "; "))
	}
	if d.Spec == nil {
		return nil, fmt.Errorf("%s: missing field(s): spec", name)
	}
	p := &Policy{Kind: d.Kind, ObjectMeta: d.ObjectMeta, Spec: *d.Spec}
	ctx := context.Background()
	p.Spec.SetDefaults(ctx)
	if fe := p.Spec.Validate(ctx).ViaField("spec"); fe != nil {
		return nil, fmt.Errorf("%s:\n%v", name, fe)
	}
	return p, nil
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
