package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Levels the corpus may ask for: the policy's securityContext.level values
// that have rules (privileged has none, so nothing to compare).
const (
	LevelRestricted = "restricted"
	LevelBaseline   = "baseline"
)

// Case is one corpus file, not yet rendered.
type Case struct {
	// Name is the file name without .yaml, e.g. "03-params-string".
	Name string
	Path string
	text string
}

// Header is a case's first document, under the key "oracle".
type Header struct {
	// Level is the policy's securityContext.level; restricted when empty.
	Level string `json:"level,omitempty"`
	// Pods is how many Pods Tekton must create: a run that creates fewer
	// did not exercise what the case is about.
	Pods int `json:"pods"`
	// Results are the Task results the driver reports for a pipeline task's
	// Pods, by pipeline task and result name; a string, an array of strings
	// or an object of strings, as the result is declared.
	Results map[string]map[string]json.RawMessage `json:"results,omitempty"`
}

// Images makes the images a case names. Each method returns the reference to
// write in YAML; the same name gives the same image within one case.
type Images interface {
	// Signed is signed and has a clean, fresh vulnerability scan; by digest.
	Signed(name string) (string, error)
	// Unsigned has no signature and no attestation; by digest.
	Unsigned(name string) (string, error)
	// Tag is signed with a clean scan, referenced by tag.
	Tag(name string) (string, error)
	// Critical is signed; its scan lists a Critical CVE; by digest.
	Critical(name string) (string, error)
}

// Data is what a case's template may use besides the image functions.
type Data struct {
	// Policy is the ClusterSecurityGate the gate task references.
	Policy string
	// Namespace is where the case runs.
	Namespace string
	// Registry is the loopback registry's host:port.
	Registry string
}

// RestrictedSecurityContext meets the restricted level, in flow style so a
// case can write `securityContext: {{restricted}}`.
const RestrictedSecurityContext = "{runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}"

// Rendered is a case ready to run.
type Rendered struct {
	Case
	Header Header
	// Objects are the case's Tekton objects in file order, as written (a
	// tekton.dev/v1beta1 object stays v1beta1), each in Data.Namespace.
	Objects []*unstructured.Unstructured
	// PipelineRun is the one PipelineRun among Objects.
	PipelineRun *unstructured.Unstructured
}

// LoadCorpus reads every *.yaml file of dir, sorted by name.
func LoadCorpus(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Case
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Case{Name: strings.TrimSuffix(filepath.Base(f), ".yaml"), Path: f, text: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.yaml corpus files in %s", dir)
	}
	return out, nil
}

// Render expands the case's template, reads its header and decodes its
// objects. Every error names the file.
func (c Case) Render(d Data, im Images) (*Rendered, error) {
	funcs := template.FuncMap{
		"image":      im.Signed,
		"unsigned":   im.Unsigned,
		"tag":        im.Tag,
		"critical":   im.Critical,
		"restricted": func() string { return RestrictedSecurityContext },
	}
	tpl, err := template.New(c.Name).Funcs(funcs).Option("missingkey=error").Parse(c.text)
	if err != nil {
		return nil, fmt.Errorf("%s: template: %w", c.Path, err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("%s: template: %w", c.Path, err)
	}
	docs, err := splitDocuments(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	if len(docs) < 2 {
		return nil, fmt.Errorf("%s: want a header document (oracle: …) and at least a PipelineRun", c.Path)
	}
	r := &Rendered{Case: c}
	var h struct {
		Oracle *Header `json:"oracle"`
	}
	if err := yaml.UnmarshalStrict(docs[0], &h); err != nil || h.Oracle == nil {
		return nil, fmt.Errorf("%s: the first document must be the header {oracle: {level, pods, results}}: %v", c.Path, err)
	}
	r.Header = *h.Oracle
	switch r.Header.Level {
	case "":
		r.Header.Level = LevelRestricted
	case LevelRestricted, LevelBaseline:
	default:
		return nil, fmt.Errorf("%s: oracle.level %q: want %s or %s", c.Path, r.Header.Level, LevelRestricted, LevelBaseline)
	}
	if r.Header.Pods < 1 {
		return nil, fmt.Errorf("%s: oracle.pods must be at least 1: the case is about what Tekton runs", c.Path)
	}
	for pt, rs := range r.Header.Results {
		for name, v := range rs {
			if _, err := ResultText(v); err != nil {
				return nil, fmt.Errorf("%s: oracle.results.%s.%s: %w", c.Path, pt, name, err)
			}
		}
	}
	for i, doc := range docs[1:] {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", c.Path, i+2, err)
		}
		if len(m) == 0 {
			continue
		}
		o := &unstructured.Unstructured{Object: m}
		if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
			return nil, fmt.Errorf("%s: document %d: want apiVersion, kind and metadata.name", c.Path, i+2)
		}
		if o.GetNamespace() != "" && o.GetNamespace() != d.Namespace {
			return nil, fmt.Errorf("%s: %s %s: metadata.namespace is set; the case runs in a namespace of its own, leave it out", c.Path, o.GetKind(), o.GetName())
		}
		o.SetNamespace(d.Namespace)
		r.Objects = append(r.Objects, o)
		if o.GetKind() == "PipelineRun" {
			if r.PipelineRun != nil {
				return nil, fmt.Errorf("%s: more than one PipelineRun (%s, %s): one run per file", c.Path, r.PipelineRun.GetName(), o.GetName())
			}
			r.PipelineRun = o
		}
	}
	if r.PipelineRun == nil {
		return nil, fmt.Errorf("%s: no PipelineRun", c.Path)
	}
	return r, nil
}

// YAML is the case's objects as one multi-document stream, as written.
func (r *Rendered) YAML() ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range r.Objects {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// ResultText is the text a Task result carries in a termination message:
// a string verbatim, an array or object of strings as JSON.
func ResultText(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var a []string
	if err := json.Unmarshal(v, &a); err == nil {
		b, _ := json.Marshal(a)
		return string(b), nil
	}
	var o map[string]string
	if err := json.Unmarshal(v, &o); err == nil {
		b, _ := json.Marshal(o)
		return string(b), nil
	}
	return "", fmt.Errorf("want a string, an array of strings or an object of strings, got %s", v)
}

// splitDocuments splits a YAML stream into its documents as raw JSON.
func splitDocuments(b []byte) ([][]byte, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out [][]byte
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", len(out)+1, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		out = append(out, raw)
	}
}
