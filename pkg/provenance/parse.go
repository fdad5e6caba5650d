package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Predicate and statement types Chains writes.
const (
	PredicateSLSA02 = "https://slsa.dev/provenance/v0.2"
	PredicateSLSA1  = "https://slsa.dev/provenance/v1"

	StatementV01 = "https://in-toto.io/Statement/v0.1"
	StatementV1  = "https://in-toto.io/Statement/v1"
)

// MaxStatementSize bounds the statement Parse reads. Chains' provenance of a
// TaskRun is a few KiB to a few hundred KiB (the v1 formats embed the run
// spec); more is refused, not read.
const MaxStatementSize = 4 << 20

// Resolved dependency names Chains gives the sources of Tekton definitions
// in SLSA v1 provenance.
const (
	depTask         = "task"
	depPipeline     = "pipeline"
	depPipelineTask = "pipelineTask"
)

// Statement is an in-toto statement carrying SLSA provenance.
type Statement struct {
	// Type is the statement's _type (in-toto v0.1 or v1).
	Type          string
	PredicateType string
	Subjects      []Subject
	Provenance    *Provenance
}

// Subject is one artifact the statement is about.
type Subject struct {
	Name   string
	Digest map[string]string
}

// Kind says what a dependency of the build is.
type Kind string

const (
	// KindDefinition is where the Tekton Task (or Pipeline) came from: the
	// source Tekton's resolver recorded (status.provenance.refSource).
	KindDefinition Kind = "definition"
	// KindImage is an OCI image (oci://…): a step or sidecar image, or an
	// image input.
	KindImage Kind = "image"
	// KindSource is a source repository (git+…).
	KindSource Kind = "source"
	// KindOther is anything else (e.g. an https:// input artifact).
	KindOther Kind = "other"
)

// Dependency is one material (SLSA v0.2) or resolved dependency (SLSA v1).
type Dependency struct {
	Kind Kind
	// Name is the resolved dependency's name (SLSA v1: "task",
	// "inputs/result", or empty for images); empty in SLSA v0.2.
	Name   string
	URI    string
	Digest map[string]string
	// EntryPoint is the object's name inside the source (SLSA v0.2
	// configSource only).
	EntryPoint string
}

// Provenance is what the rules read from a SLSA v0.2 or v1 predicate.
type Provenance struct {
	PredicateType string
	BuilderID     string
	BuildType     string
	// InvocationID is runDetails.metadata.invocationId (SLSA v1): the UID of
	// the TaskRun Chains attested. Empty in SLSA v0.2.
	InvocationID string
	StartedOn    time.Time // zero when not given
	FinishedOn   time.Time // zero when not given
	// Dependencies in the order the provenance lists them; the definition
	// (v0.2 invocation.configSource) first.
	Dependencies []Dependency
}

// IsV1 reports whether the provenance is SLSA v1 (which names its TaskRun).
func (p *Provenance) IsV1() bool { return p.PredicateType == PredicateSLSA1 }

// Of returns the dependencies of kind k.
func (p *Provenance) Of(k Kind) []Dependency {
	var out []Dependency
	for _, d := range p.Dependencies {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

// IsProvenanceType reports whether t is a predicate type this package reads.
func IsProvenanceType(t string) bool { return t == PredicateSLSA02 || t == PredicateSLSA1 }

type wireStatement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []wireSubject   `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

type wireSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ParseStatement reads an in-toto statement (the DSSE payload of a verified
// attestation) holding SLSA v0.2 or v1 provenance.
func ParseStatement(payload []byte) (*Statement, error) {
	if len(payload) > MaxStatementSize {
		return nil, fmt.Errorf("in-toto statement of %d bytes, more than the %d read", len(payload), MaxStatementSize)
	}
	var w wireStatement
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("in-toto statement: %v", err)
	}
	subjects := make([]Subject, 0, len(w.Subject))
	for _, s := range w.Subject {
		subjects = append(subjects, Subject(s))
	}
	return NewStatement(w.Type, w.PredicateType, subjects, w.Predicate)
}

// NewStatement reads a statement a caller has already decoded (the
// attestation machinery of pkg/verify keeps the predicate raw): the same
// checks as ParseStatement, from the parts.
func NewStatement(statementType, predicateType string, subjects []Subject, predicate []byte) (*Statement, error) {
	if len(predicate) > MaxStatementSize {
		return nil, fmt.Errorf("provenance predicate of %d bytes, more than the %d read", len(predicate), MaxStatementSize)
	}
	if statementType != StatementV01 && statementType != StatementV1 {
		return nil, fmt.Errorf("in-toto statement: _type %q, want %s or %s", statementType, StatementV01, StatementV1)
	}
	if len(subjects) == 0 {
		return nil, errors.New("in-toto statement: no subject")
	}
	p, err := Parse(predicateType, predicate)
	if err != nil {
		return nil, err
	}
	return &Statement{Type: statementType, PredicateType: predicateType, Subjects: append([]Subject(nil), subjects...), Provenance: p}, nil
}

// HasDigest reports whether one subject's sha256 digest is exactly hex.
func (st *Statement) HasDigest(hex string) bool {
	for _, s := range st.Subjects {
		if s.Digest["sha256"] == hex {
			return true
		}
	}
	return false
}

// SubjectDigests lists the subjects as name@sha256:hex, for messages.
func (st *Statement) SubjectDigests() string {
	out := make([]string, 0, len(st.Subjects))
	for _, s := range st.Subjects {
		out = append(out, fmt.Sprintf("%s@sha256:%s", s.Name, s.Digest["sha256"]))
	}
	return strings.Join(out, ", ")
}

// Parse reads a SLSA provenance predicate of predicateType (v0.2 or v1).
// Required fields missing, or fields of the wrong JSON type, are errors.
func Parse(predicateType string, predicate []byte) (*Provenance, error) {
	if len(bytes.TrimSpace(predicate)) == 0 || bytes.Equal(bytes.TrimSpace(predicate), []byte("null")) {
		return nil, fmt.Errorf("provenance %s: no predicate", predicateType)
	}
	switch predicateType {
	case PredicateSLSA02:
		return parseV02(predicate)
	case PredicateSLSA1:
		return parseV1(predicate)
	}
	return nil, fmt.Errorf("predicateType %q is not SLSA provenance (want %s or %s)", predicateType, PredicateSLSA02, PredicateSLSA1)
}

type wireDescriptor struct {
	Name       string            `json:"name"`
	URI        string            `json:"uri"`
	Digest     map[string]string `json:"digest"`
	EntryPoint string            `json:"entryPoint"`
}

type v02 struct {
	Builder *struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType  string `json:"buildType"`
	Invocation struct {
		ConfigSource *wireDescriptor `json:"configSource"`
	} `json:"invocation"`
	Metadata *struct {
		BuildStartedOn  *time.Time `json:"buildStartedOn"`
		BuildFinishedOn *time.Time `json:"buildFinishedOn"`
	} `json:"metadata"`
	Materials []wireDescriptor `json:"materials"`
}

func parseV02(predicate []byte) (*Provenance, error) {
	var w v02
	if err := json.Unmarshal(predicate, &w); err != nil {
		return nil, fmt.Errorf("SLSA v0.2 provenance: %v", err)
	}
	if w.Builder == nil || w.Builder.ID == "" {
		return nil, errors.New("SLSA v0.2 provenance: builder.id missing")
	}
	p := &Provenance{PredicateType: PredicateSLSA02, BuilderID: w.Builder.ID, BuildType: w.BuildType}
	if m := w.Metadata; m != nil {
		p.StartedOn, p.FinishedOn = timeOf(m.BuildStartedOn), timeOf(m.BuildFinishedOn)
	}
	// Chains always writes configSource; it is empty when the Task was not
	// resolved from anywhere (embedded, or by name in the cluster).
	if cs := w.Invocation.ConfigSource; cs != nil && (cs.URI != "" || len(cs.Digest) > 0) {
		p.Dependencies = append(p.Dependencies, Dependency{
			Kind: KindDefinition, URI: cs.URI, Digest: cs.Digest, EntryPoint: cs.EntryPoint,
		})
	}
	for _, m := range w.Materials {
		p.Dependencies = append(p.Dependencies, Dependency{Kind: kindOf(m.URI), URI: m.URI, Digest: m.Digest})
	}
	return p, nil
}

type v1 struct {
	BuildDefinition *struct {
		BuildType            string           `json:"buildType"`
		ResolvedDependencies []wireDescriptor `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails *struct {
		Builder *struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata *struct {
			InvocationID string     `json:"invocationId"`
			StartedOn    *time.Time `json:"startedOn"`
			FinishedOn   *time.Time `json:"finishedOn"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

func parseV1(predicate []byte) (*Provenance, error) {
	var w v1
	if err := json.Unmarshal(predicate, &w); err != nil {
		return nil, fmt.Errorf("SLSA v1 provenance: %v", err)
	}
	if w.BuildDefinition == nil || w.BuildDefinition.BuildType == "" {
		return nil, errors.New("SLSA v1 provenance: buildDefinition.buildType missing")
	}
	if w.RunDetails == nil || w.RunDetails.Builder == nil || w.RunDetails.Builder.ID == "" {
		return nil, errors.New("SLSA v1 provenance: runDetails.builder.id missing")
	}
	p := &Provenance{PredicateType: PredicateSLSA1, BuilderID: w.RunDetails.Builder.ID, BuildType: w.BuildDefinition.BuildType}
	if m := w.RunDetails.Metadata; m != nil {
		p.InvocationID = m.InvocationID
		p.StartedOn, p.FinishedOn = timeOf(m.StartedOn), timeOf(m.FinishedOn)
	}
	for _, d := range w.BuildDefinition.ResolvedDependencies {
		k := kindOf(d.URI)
		switch d.Name {
		case depTask, depPipeline, depPipelineTask:
			k = KindDefinition
		}
		p.Dependencies = append(p.Dependencies, Dependency{Kind: k, Name: d.Name, URI: d.URI, Digest: d.Digest})
	}
	return p, nil
}

// kindOf classifies a material by its URI scheme, as Chains writes them.
func kindOf(uri string) Kind {
	switch {
	case strings.HasPrefix(uri, "oci://"):
		return KindImage
	case strings.HasPrefix(uri, "git+"):
		return KindSource
	}
	return KindOther
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
