package output

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/gate"
)

// noted is a passing report whose scan had two findings a trusted VEX
// statement dropped, and a verification summary written by the pass.
func noted() *gate.Report {
	vexNote := func(id, status, why string) gate.Note {
		return gate.Note{Check: gate.CheckVulnerabilities, Subject: gate.ImageSubject("registry.example.com/app@sha256:aa"), Task: "build",
			Message: "attestation \"scan\": " + id + " (CRITICAL) dropped: VEX says " + status,
			VEX: &gate.VEXNote{Vulnerability: id, Severity: "CRITICAL", Product: "sha256:aa", Status: status, Justification: why,
				Author: "Vendor PSIRT", Authority: "vendor", Document: "sha256:bb", Source: "OpenVEX attestation", Attestation: "scan"}}
	}
	return &gate.Report{
		Verdict: gate.VerdictPass, Violations: []gate.Finding{}, Warnings: []gate.Finding{},
		Summary:        gate.Summary{Images: 1},
		VerifiedImages: []string{"registry.example.com/app@sha256:aa"},
		Notes: []gate.Note{
			vexNote("CVE-2026-1", "not_affected", "vulnerable_code_not_in_execute_path"),
			vexNote("CVE-2026-2", "fixed", ""),
			{Check: gate.CheckVerificationSummary, Subject: gate.ImageSubject("registry.example.com/app@sha256:aa"), Message: "verification summary written"},
		},
	}
}

// TestNotesInEveryFormat: a dropped finding appears in text, JSON and SARIF
// (as a suppressed result), and the verdict stays a pass.
func TestNotesInEveryFormat(t *testing.T) {
	r := noted()
	text := string(render(t, FormatText, r, false))
	for _, want := range []string{"notes (they change no verdict)", "· [vulnerabilities] registry.example.com/app@sha256:aa: attestation \"scan\": CVE-2026-1 (CRITICAL) dropped", "[verification-summary]", "PASS:"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}

	var js struct {
		Verdict string `json:"verdict"`
		Notes   []struct {
			Check string        `json:"check"`
			VEX   *gate.VEXNote `json:"vex"`
		} `json:"notes"`
	}
	if err := json.Unmarshal(render(t, FormatJSON, r, false), &js); err != nil {
		t.Fatal(err)
	}
	if js.Verdict != "pass" || len(js.Notes) != 3 || js.Notes[0].VEX == nil || js.Notes[0].VEX.Document != "sha256:bb" || js.Notes[0].VEX.Justification == "" {
		t.Errorf("JSON notes: %+v", js)
	}

	out := render(t, FormatSARIF, r, false)
	for _, path := range sarifSchemas() {
		if err := validateSARIF(compileSARIFSchema(t, path), out); err != nil {
			t.Fatalf("SARIF with suppressions is invalid against %s: %v\n%s", path, err, out)
		}
	}
	var log map[string]any
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	results := run(log)["results"].([]any)
	suppressed := 0
	for _, res := range results {
		m := res.(map[string]any)
		s, ok := m["suppressions"].([]any)
		if !ok {
			continue
		}
		suppressed++
		sup := s[0].(map[string]any)
		if sup["kind"] != "external" || sup["status"] != nil || !strings.Contains(sup["justification"].(string), "Vendor PSIRT") || m["ruleId"] != gate.CheckVulnerabilities {
			t.Errorf("suppression %v of result %v", sup, m)
		}
	}
	if suppressed != 2 {
		t.Errorf("%d suppressed results, want 2: %s", suppressed, out)
	}
	inv := run(log)["invocations"].([]any)[0].(map[string]any)
	if inv["executionSuccessful"] != true || len(inv["toolExecutionNotifications"].([]any)) != 1 {
		t.Errorf("invocation %v: want a successful run with the summary note as a notification", inv)
	}
}
