package output

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/security-gate/security-gate/pkg/gate"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// reports are the fixtures every renderer is tested with: each verdict, run-
// and task-level findings, several findings on one subject, and hostile text.
func reports() map[string]*gate.Report {
	return map[string]*gate.Report{
		"pass": {
			Verdict: gate.VerdictPass,
			Summary: gate.Summary{Pipelines: 1, Tasks: 3, Steps: 5, Images: 4, Bundles: 4},
			VerifiedImages: []string{
				"registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
			},
		},
		"warn": {
			Verdict: gate.VerdictWarn,
			Warnings: []gate.Finding{
				{Check: gate.CheckGateOrder, Subject: gate.ObjectSubject("pipeline", "ci", "release").WithTask("notify"), Task: "notify",
					Message: `finally task "notify" runs even when the gate fails`},
				{Check: gate.CheckUnresolved, Subject: gate.ObjectSubject("pipeline", "ci", "release").WithTask("scan"), Task: "scan",
					Message: `taskRef uses resolver "git", which the CLI cannot load; nothing in it was checked`},
			},
			Summary: gate.Summary{Pipelines: 1, Tasks: 4, Steps: 6, Images: 3, Warnings: 2},
		},
		"fail": {
			Verdict: gate.VerdictFail,
			Violations: []gate.Finding{
				{Check: gate.CheckImageDigest, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build").WithStep("compile"), Task: "build",
					Message: `image "golang:1.26" is not pinned by digest (images.requireDigest)`},
				{Check: gate.CheckNamespace, Subject: gate.ObjectSubject("pipelinerun", "default", "release-42"),
					Message: `namespace "default" is listed in namespaces.deny`},
				{Check: gate.CheckSecurityContext, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build").WithStep("compile"), Task: "build",
					Message: `fails restricted: allowPrivilegeEscalation != false (container "step-compile" must set securityContext.allowPrivilegeEscalation=false)`},
				{Check: gate.CheckSecurityContext, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build").WithStep("compile"), Task: "build",
					Message: `fails restricted: runAsNonRoot != true`},
				{Check: gate.CheckGateOrder, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("push"), Task: "push",
					Message: `task "push" can run without the gate "verify": it is not downstream of it through runAfter or results`},
			},
			Warnings: []gate.Finding{
				{Check: gate.CheckSecurityContext, Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build").WithStep("compile"), Task: "build",
					Message: `seccompProfile is not set; RuntimeDefault is expected`},
			},
			Summary: gate.Summary{Pipelines: 1, Tasks: 3, Steps: 4, Images: 2, Bundles: 0, Violations: 5, Warnings: 1},
		},
		"error": {
			Verdict: gate.VerdictError,
			Errors: []gate.Finding{
				{Check: gate.CheckRegistry, Subject: gate.ImageSubject("registry.example.com/app:1.0"), Task: "deploy", Transient: true,
					Message: `resolving the digest: GET https://registry.example.com/v2/app/manifests/1.0: 503 Service Unavailable (after 3 attempts)`},
				{Check: gate.CheckRegistry, Subject: gate.ImageSubject("registry.example.com/app:1.0"), Task: "deploy",
					Message: `signature lookup timed out after 30s`},
			},
			Summary: gate.Summary{Pipelines: 1, Tasks: 2, Steps: 2, Images: 2},
		},
		// A violation next to something undecided: the verdict is fail, and
		// the undecided findings are still listed.
		"fail-undecided": {
			Verdict: gate.VerdictFail,
			Errors: []gate.Finding{
				{Check: gate.CheckRegistry, Subject: gate.ImageSubject("registry.example.com/app:1.0"), Task: "deploy", Transient: true,
					Message: `resolving the digest: GET https://registry.example.com/v2/app/manifests/1.0: 503 Service Unavailable (after 3 attempts)`},
			},
			Violations: []gate.Finding{
				{Check: gate.CheckImageSignature, Subject: gate.ImageSubject("registry.example.com/tools/kubectl@sha256:2222222222222222222222222222222222222222222222222222222222222222"), Task: "deploy",
					Message: `no signature verifies against images.authorities [release]`},
			},
			Summary: gate.Summary{Pipelines: 1, Tasks: 2, Steps: 2, Images: 2, Violations: 1},
		},
		"policy-error": {
			Verdict: gate.VerdictError,
			Errors: []gate.Finding{
				{Check: gate.CheckPolicy, Subject: gate.TextSubject("policy.yaml"),
					Message: "invalid value: Sometimes: spec.mode\nexpected Enforce or Warn"},
			},
		},
		"hostile": {
			Verdict: gate.VerdictFail,
			Violations: []gate.Finding{
				{Check: gate.CheckImageReference, Subject: gate.ObjectSubject("pipelinerun", "ci", "x").WithTask("a<b>&\"c\"").WithStep("s"), Task: "a<b>&\"c\"",
					Message: "image \"evil\x1b[2J\x1b[32mPASS\x1b[0m\" cannot be parsed\x00 \u202eok\u202c"},
			},
			Summary: gate.Summary{Tasks: 1, Steps: 1, Violations: 1},
		},
	}
}

func render(t *testing.T, f Format, r *gate.Report, color bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f, r, Options{Color: color, ToolVersion: "v0.0.0-test"}); err != nil {
		t.Fatalf("Write(%s): %v", f, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	exts := map[Format]string{FormatText: "txt", FormatJSON: "json", FormatJUnit: "xml", FormatSARIF: "sarif"}
	for name, r := range reports() {
		for _, f := range Formats() {
			t.Run(name+"/"+string(f), func(t *testing.T) {
				got := render(t, f, r, false)
				path := filepath.Join("testdata", name+"."+exts[f]+".golden")
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file (run with -update after review):\n--- got\n%s\n--- want\n%s", path, got, want)
				}
			})
		}
	}
}

func TestJSONShape(t *testing.T) {
	for name, r := range reports() {
		t.Run(name, func(t *testing.T) {
			out := render(t, FormatJSON, r, false)
			dec := json.NewDecoder(bytes.NewReader(out))
			var obj map[string]json.RawMessage
			if err := dec.Decode(&obj); err != nil {
				t.Fatalf("not a JSON object: %v\n%s", err, out)
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				t.Fatalf("more than one JSON value on the output:\n%s", out)
			}
			for _, k := range []string{"violations", "warnings"} {
				if !bytes.HasPrefix(bytes.TrimSpace(obj[k]), []byte("[")) {
					t.Errorf("%q = %s, want an array", k, obj[k])
				}
			}
			_, hasErrors := obj["errors"]
			if hasErrors != (len(r.Errors) > 0) {
				t.Errorf("errors present = %v, want %v", hasErrors, len(r.Errors) > 0)
			}
			var back gate.Report
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if back.Verdict != r.Verdict || len(back.Violations) != len(r.Violations) || len(back.Warnings) != len(r.Warnings) {
				t.Errorf("round trip lost data: got %+v", back)
			}
			if back.Summary.Violations != len(r.Violations) || back.Summary.Warnings != len(r.Warnings) {
				t.Errorf("summary counts %+v do not match the lists", back.Summary)
			}
		})
	}
}

// TestFailClosed: a missing report, an unknown verdict, or a verdict that
// contradicts the findings is never rendered as a pass.
func TestFailClosed(t *testing.T) {
	tests := []struct {
		name string
		r    *gate.Report
		want gate.Verdict
	}{
		{"nil report", nil, gate.VerdictError},
		{"empty verdict", &gate.Report{}, gate.VerdictError},
		{"unknown verdict", &gate.Report{Verdict: "ok"}, gate.VerdictError},
		{"pass with errors", &gate.Report{Verdict: gate.VerdictPass, Errors: []gate.Finding{{Check: gate.CheckRegistry, Message: "timeout"}}}, gate.VerdictError},
		{"fail without violations", &gate.Report{Verdict: gate.VerdictFail, Warnings: []gate.Finding{{Check: gate.CheckGateOrder}}}, gate.VerdictError},
		{"error without errors", &gate.Report{Verdict: gate.VerdictError, Warnings: []gate.Finding{{Check: gate.CheckGateOrder}}}, gate.VerdictError},
		{"pass with violations", &gate.Report{Verdict: gate.VerdictPass, Violations: []gate.Finding{{Check: gate.CheckNamespace}}}, gate.VerdictFail},
		{"pass with warnings", &gate.Report{Verdict: gate.VerdictPass, Warnings: []gate.Finding{{Check: gate.CheckGateOrder}}}, gate.VerdictWarn},
		{"warn", &gate.Report{Verdict: gate.VerdictWarn, Warnings: []gate.Finding{{Check: gate.CheckGateOrder}}}, gate.VerdictWarn},
		{"fail", &gate.Report{Verdict: gate.VerdictFail, Violations: []gate.Finding{{Check: gate.CheckNamespace}}}, gate.VerdictFail},
		{"pass", &gate.Report{Verdict: gate.VerdictPass}, gate.VerdictPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var back struct {
				Verdict gate.Verdict `json:"verdict"`
			}
			if err := json.Unmarshal(render(t, FormatJSON, tt.r, false), &back); err != nil {
				t.Fatal(err)
			}
			if back.Verdict != tt.want {
				t.Errorf("verdict = %q, want %q", back.Verdict, tt.want)
			}
			text := string(render(t, FormatText, tt.r, false))
			if tt.want == gate.VerdictError && !strings.Contains(text, "could not decide") {
				t.Errorf("text output does not say it could not decide:\n%s", text)
			}
		})
	}
}

func TestTextColor(t *testing.T) {
	r := reports()["fail"]
	plain := string(render(t, FormatText, r, false))
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("colour off, but output has escape sequences:\n%q", plain)
	}
	colored := string(render(t, FormatText, r, true))
	if !strings.Contains(colored, ansiRed+markViolation+ansiReset) || !strings.Contains(colored, ansiRed+"FAIL") {
		t.Errorf("colour on, but violations or the verdict are not red:\n%q", colored)
	}
	// Colour must not change the words.
	stripped := colored
	for _, c := range []string{ansiReset, ansiBold, ansiRed, ansiGreen, ansiYellow, ansiPurple} {
		stripped = strings.ReplaceAll(stripped, c, "")
	}
	if stripped != plain {
		t.Errorf("coloured text differs from plain text once colour is removed:\n%s\nvs\n%s", stripped, plain)
	}
}

// TestTextHostile: text from the input cannot inject terminal escapes, extra
// lines or bidi reordering, even with colour on.
func TestTextHostile(t *testing.T) {
	for _, color := range []bool{false, true} {
		out := string(render(t, FormatText, reports()["hostile"], color))
		for _, bad := range []string{"\x1b[2J", "\x1b[32mPASS", "\x00", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("color=%v: output contains %q:\n%q", color, bad, out)
			}
		}
		if got := strings.Count(out, "\n"); got != 4 {
			t.Errorf("color=%v: %d lines, want 4 (heading, finding, blank, verdict):\n%s", color, got, out)
		}
	}
}

func TestTextGrouping(t *testing.T) {
	out := string(render(t, FormatText, reports()["fail"], false))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"run", "task build", "task push"}
	var heads []string
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "FAIL") {
			heads = append(heads, l)
		}
	}
	if strings.Join(heads, "|") != strings.Join(want, "|") {
		t.Errorf("group headings = %q, want %q (run-level first, then tasks by first mention)", heads, want)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "FAIL: 5 violations, 1 warning") {
		t.Errorf("last line = %q, want the verdict with counts", last)
	}
}

func TestJUnitWellFormed(t *testing.T) {
	for name, r := range reports() {
		t.Run(name, func(t *testing.T) {
			out := render(t, FormatJUnit, r, false)
			var doc junitSuites
			if err := xml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("invalid XML: %v\n%s", err, out)
			}
			// Every token must decode: encoding/xml.Unmarshal is lenient
			// about content it skips.
			d := xml.NewDecoder(bytes.NewReader(out))
			for {
				if _, err := d.Token(); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					t.Fatalf("invalid XML: %v", err)
				}
			}
			var tests, failures, errs, skipped int
			for _, s := range doc.Suites {
				if s.Tests != len(s.Cases) {
					t.Errorf("suite %s: tests=%d, has %d testcases", s.Name, s.Tests, len(s.Cases))
				}
				for _, c := range s.Cases {
					n := 0
					for _, p := range []*junitProblem{c.Failure, c.Error, c.Skipped} {
						if p != nil {
							n++
						}
					}
					if n > 1 {
						t.Errorf("testcase %s has %d of failure/error/skipped, want at most 1", c.Name, n)
					}
				}
				tests += s.Tests
				failures += s.Failures
				errs += s.Errors
				skipped += s.Skipped
			}
			if tests != doc.Tests || failures != doc.Failures || errs != doc.Errors || skipped != doc.Skipped {
				t.Errorf("testsuites totals %d/%d/%d/%d do not add up to %d/%d/%d/%d",
					doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errs, skipped)
			}
			if doc.Suites[0].Name != verdictSuite {
				t.Errorf("first suite = %q, want %q", doc.Suites[0].Name, verdictSuite)
			}
		})
	}
}

// compileSARIFSchema compiles a SARIF 2.1.0 JSON schema file, asserting
// formats (uri), and with no network access: the only resource is the file.
func compileSARIFSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "file:///sarif-schema-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compiling %s: %v", path, err)
	}
	return sch
}

// sarifSchemas lists the committed schema and, from SARIF_SCHEMA, another
// copy to check against as well (e.g. the OASIS errata01 draft-04 file).
func sarifSchemas() []string {
	schemas := []string{filepath.Join("testdata", "sarif-schema-2.1.0.json")}
	if extra := os.Getenv("SARIF_SCHEMA"); extra != "" {
		schemas = append(schemas, extra)
	}
	return schemas
}

func validateSARIF(sch *jsonschema.Schema, out []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func TestSARIFSchema(t *testing.T) {
	for _, path := range sarifSchemas() {
		sch := compileSARIFSchema(t, path)
		for name, r := range reports() {
			t.Run(filepath.Base(path)+"/"+name, func(t *testing.T) {
				out := render(t, FormatSARIF, r, false)
				if err := validateSARIF(sch, out); err != nil {
					t.Errorf("SARIF output does not validate against %s: %v\n%s", path, err, out)
				}
			})
		}
		// The validator must be able to say no, or the test above proves nothing.
		t.Run(filepath.Base(path)+"/rejects invalid", func(t *testing.T) {
			out := render(t, FormatSARIF, reports()["fail"], false)
			for _, mutate := range []func(map[string]any){
				func(m map[string]any) { m["version"] = "2.0.0" },
				func(m map[string]any) { run(m)["results"].([]any)[0].(map[string]any)["level"] = "fatal" },
				func(m map[string]any) { delete(run(m)["tool"].(map[string]any), "driver") },
			} {
				var m map[string]any
				if err := json.Unmarshal(out, &m); err != nil {
					t.Fatal(err)
				}
				mutate(m)
				bad, _ := json.Marshal(m)
				if err := validateSARIF(sch, bad); err == nil {
					t.Errorf("schema accepted invalid SARIF:\n%s", bad)
				}
			}
		})
	}
}

func run(m map[string]any) map[string]any { return m["runs"].([]any)[0].(map[string]any) }

func TestSARIFContent(t *testing.T) {
	out := render(t, FormatSARIF, reports()["error"], false)
	var log sarifLog
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	r := log.Runs[0]
	if r.Invocations[0].ExecutionSuccessful {
		t.Error("a report that could not decide must be an unsuccessful invocation")
	}
	if len(r.Invocations[0].ToolExecutionNotifications) != 2 {
		t.Errorf("want a notification per undecided finding, got %+v", r.Invocations[0].ToolExecutionNotifications)
	}
	for _, res := range r.Results {
		if r.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s: ruleIndex %d points at %s", res.RuleID, res.RuleIndex, r.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		if res.Level != "error" {
			t.Errorf("result %s: level %s, want error", res.RuleID, res.Level)
		}
	}
	// A check id the renderer does not know still gets a rule.
	out = render(t, FormatSARIF, &gate.Report{Verdict: gate.VerdictWarn, Warnings: []gate.Finding{{Check: "new-check", Message: "m"}}}, false)
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	rl := log.Runs[0].Tool.Driver.Rules
	if last := rl[len(rl)-1]; last.ID != "new-check" || last.Name != "NewCheck" || log.Runs[0].Results[0].Level != "warning" {
		t.Errorf("unknown check: rule %+v, result %+v", last, log.Runs[0].Results[0])
	}
}

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"text", FormatText, false}, {"JSON", FormatJSON, false}, {"junit", FormatJUnit, false},
		{"sarif", FormatSARIF, false}, {"yaml", "", true}, {"", "", true},
	} {
		got, err := ParseFormat(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFormat(%q) = %q, %v", tt.in, got, err)
		}
	}
	if err := Write(io.Discard, "yaml", &gate.Report{}, Options{}); err == nil {
		t.Error("Write with an unknown format succeeded")
	}
}

func TestSARIFPhysicalLocations(t *testing.T) {
	locate := func(subject gate.Subject) (string, bool) {
		files := map[string]string{
			"pipelinerun/ci/release-42":      ".tekton/release run.yaml",
			"pipelinerun/default/release-42": "/abs/run.yaml",
		}
		f, ok := files[subject.Object()]
		return f, ok
	}
	var buf bytes.Buffer
	if err := Write(&buf, FormatSARIF, reports()["fail"], Options{ToolVersion: "v1", Locate: locate}); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0]
		uri := ""
		if loc.PhysicalLocation != nil {
			uri = loc.PhysicalLocation.ArtifactLocation.URI
		}
		got[loc.LogicalLocations[0].Name] = uri
	}
	want := map[string]string{
		"pipelinerun/ci/release-42 task=build step=compile": ".tekton/release%20run.yaml",
		"pipelinerun/default/release-42":                    "file:///abs/run.yaml",
		"pipelinerun/ci/release-42 task=push":               ".tekton/release%20run.yaml",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: uri %q, want %q", k, got[k], v)
		}
	}
	for _, path := range sarifSchemas() {
		if err := validateSARIF(compileSARIFSchema(t, path), buf.Bytes()); err != nil {
			t.Errorf("SARIF with physical locations does not validate against %s: %v", path, err)
		}
	}
}

// TestOneVerdictEveryFormat: each format shows gate.Decide's verdict, and a
// violation next to an undecided finding is a fail in every one of them,
// with the undecided finding still listed.
func TestOneVerdictEveryFormat(t *testing.T) {
	for name, r := range reports() {
		want := gate.Decide(r)
		t.Run(name, func(t *testing.T) {
			if got := Verdict(r); got != want {
				t.Errorf("Verdict = %s, want %s", got, want)
			}
			var js struct {
				Verdict gate.Verdict   `json:"verdict"`
				Errors  []gate.Finding `json:"errors"`
			}
			if err := json.Unmarshal(render(t, FormatJSON, r, false), &js); err != nil {
				t.Fatal(err)
			}
			if js.Verdict != want || len(js.Errors) != len(r.Errors) {
				t.Errorf("json: verdict %s with %d errors, want %s with %d", js.Verdict, len(js.Errors), want, len(r.Errors))
			}
			var doc junitSuites
			if err := xml.Unmarshal(render(t, FormatJUnit, r, false), &doc); err != nil {
				t.Fatal(err)
			}
			vc := doc.Suites[0].Cases[0]
			junitVerdict := gate.VerdictPass
			switch {
			case vc.Failure != nil:
				junitVerdict = gate.VerdictFail
			case vc.Error != nil:
				junitVerdict = gate.VerdictError
			}
			if (want == gate.VerdictFail || want == gate.VerdictError) && junitVerdict != want {
				t.Errorf("junit verdict testcase says %s, want %s", junitVerdict, want)
			}
			var sarif map[string]any
			if err := json.Unmarshal(render(t, FormatSARIF, r, false), &sarif); err != nil {
				t.Fatal(err)
			}
			if got := run(sarif)["properties"].(map[string]any)["verdict"]; got != string(want) {
				t.Errorf("sarif verdict = %v, want %s", got, want)
			}
			text := string(render(t, FormatText, r, false))
			heads := map[gate.Verdict]string{gate.VerdictPass: "PASS:", gate.VerdictWarn: "PASS with warnings:",
				gate.VerdictFail: "FAIL:", gate.VerdictError: "ERROR: could not decide"}
			lines := strings.Split(strings.TrimSpace(text), "\n")
			if !strings.HasPrefix(lines[len(lines)-1], heads[want]) {
				t.Errorf("text verdict line %q, want %q", lines[len(lines)-1], heads[want])
			}
		})
	}
	if got := Verdict(reports()["fail-undecided"]); got != gate.VerdictFail {
		t.Fatalf("a violation with an undecided finding: verdict %s, want fail", got)
	}
}
