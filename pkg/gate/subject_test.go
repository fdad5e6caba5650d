package gate_test

import (
	"encoding/json"
	"testing"

	"github.com/security-gate/security-gate/pkg/gate"
)

func TestSubject(t *testing.T) {
	run := gate.ObjectSubject("pipelinerun", "ci", "release-42")
	tests := []struct {
		name       string
		subject    gate.Subject
		wantString string
		wantObject string
	}{
		{"a run", run, "pipelinerun/ci/release-42", "pipelinerun/ci/release-42"},
		{"a step of a pipeline task", run.WithTask("build").WithStep("compile"), "pipelinerun/ci/release-42 task=build step=compile", "pipelinerun/ci/release-42"},
		{"a sidecar replaces the step", run.WithTask("build").WithStep("compile").WithSidecar("db"), "pipelinerun/ci/release-42 task=build sidecar=db", "pipelinerun/ci/release-42"},
		{"an object without a namespace", gate.ObjectSubject("task", "", "compile").WithStep("a"), "task/compile step=a", "task/compile"},
		{"an image", gate.ImageSubject("registry.example.com/app@sha256:aa"), "registry.example.com/app@sha256:aa", ""},
		{"an image of an object", gate.Subject{Kind: "taskrun", Name: "r", Image: "registry.example.com/app:1"}, "taskrun/r image=registry.example.com/app:1", "taskrun/r"},
		{"text", gate.TextSubject("policy.yaml"), "policy.yaml", ""},
		{"nothing", gate.Subject{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.subject.String(); got != tt.wantString {
				t.Errorf("String() = %q, want %q", got, tt.wantString)
			}
			if got := tt.subject.Object(); got != tt.wantObject {
				t.Errorf("Object() = %q, want %q", got, tt.wantObject)
			}
			if tt.subject.IsZero() != (tt.wantString == "") {
				t.Errorf("IsZero() = %v for %q", tt.subject.IsZero(), tt.wantString)
			}
		})
	}
}

// TestSubjectWireForm: a finding's subject is a JSON string (the report
// contract), written as the encoder writes any string, and read back as
// that text.
func TestSubjectWireForm(t *testing.T) {
	f := gate.Finding{Check: gate.CheckGateOrder, Subject: gate.ObjectSubject("pipeline", "", "p").WithTask("a<b>&c"), Message: "m"}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"check":"gate-order","subject":"pipeline/p task=a\u003cb\u003e\u0026c","message":"m"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var back gate.Finding
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Subject.String() != f.Subject.String() || back.Subject != gate.TextSubject("pipeline/p task=a<b>&c") {
		t.Errorf("read back %+v, want the text of %q", back.Subject, f.Subject)
	}
	if err := json.Unmarshal([]byte(`{"subject": 7}`), &back); err == nil {
		t.Error("a subject that is not a string was accepted")
	}
}
