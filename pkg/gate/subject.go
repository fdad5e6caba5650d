package gate

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Subject names what a finding or a note is about, as fields, so what
// reads a report (the SARIF writer locating an object's file, the results)
// never parses text back. String is its one printed form, and the JSON of
// a report carries exactly that string.
type Subject struct {
	// Kind, Namespace and Name name a Tekton object: kind in lower case
	// (pipelinerun, taskrun, pipeline, task, stepaction); no namespace for
	// an object given without one.
	Kind, Namespace, Name string
	// Task is the pipeline task within a pipeline.
	Task string
	// Step or Sidecar is the container within a task.
	Step, Sidecar string
	// Image is an image or bundle reference: what a registry finding is
	// about.
	Image string
	// Text is a subject that is none of the above: a file, the policy, a
	// command line, or a subject read back from a report's JSON.
	Text string
}

// ObjectSubject is the subject of a Tekton object.
func ObjectSubject(kind, namespace, name string) Subject {
	return Subject{Kind: kind, Namespace: namespace, Name: name}
}

// ImageSubject is the subject of an image or bundle reference.
func ImageSubject(ref string) Subject { return Subject{Image: ref} }

// TextSubject is a subject that is no Tekton object and no image.
func TextSubject(text string) Subject { return Subject{Text: text} }

// WithTask is s narrowed to pipeline task t.
func (s Subject) WithTask(t string) Subject {
	s.Task = t
	return s
}

// WithStep is s narrowed to step name.
func (s Subject) WithStep(name string) Subject {
	s.Step, s.Sidecar = name, ""
	return s
}

// WithSidecar is s narrowed to sidecar name.
func (s Subject) WithSidecar(name string) Subject {
	s.Sidecar, s.Step = name, ""
	return s
}

// IsZero reports whether s names nothing.
func (s Subject) IsZero() bool { return s == Subject{} }

// Object is the object part, "<kind>/<namespace>/<name>" or
// "<kind>/<name>", or "" when s names no object.
func (s Subject) Object() string {
	if s.Kind == "" {
		return ""
	}
	if s.Namespace == "" {
		return s.Kind + "/" + s.Name
	}
	return s.Kind + "/" + s.Namespace + "/" + s.Name
}

// String is the printed subject: "pipelinerun/ci/release-42 task=build
// step=compile", "task/compile sidecar=db", an image reference, or the
// text.
func (s Subject) String() string {
	var parts []string
	add := func(p string) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	add(s.Object())
	if s.Task != "" {
		add("task=" + s.Task)
	}
	if s.Step != "" {
		add("step=" + s.Step)
	}
	if s.Sidecar != "" {
		add("sidecar=" + s.Sidecar)
	}
	if s.Image != "" {
		if len(parts) > 0 {
			add("image=" + s.Image)
		} else {
			add(s.Image)
		}
	}
	add(s.Text)
	return strings.Join(parts, " ")
}

// MarshalJSON writes the subject as its string: the wire form of reports.
// HTML characters are left as they are; the encoder that writes the report
// escapes them or not, as it does for every other string.
func (s Subject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.String()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads a subject from a report as text: its fields are not
// parsed back.
func (s *Subject) UnmarshalJSON(b []byte) error {
	var text string
	if err := json.Unmarshal(b, &text); err != nil {
		return err
	}
	*s = TextSubject(text)
	return nil
}
