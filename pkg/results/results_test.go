package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/result"
	"github.com/tektoncd/pipeline/pkg/termination"

	"github.com/security-gate/security-gate/pkg/gate"
)

type namedReport struct {
	Name   string       `json:"name"`
	Report *gate.Report `json:"report"`
}

// testReports are the reports of testdata/reports.json: small, empty,
// every verdict, truncation landing in each list, and verified-images that
// eat or exceed the whole budget.
func testReports(t *testing.T) []namedReport {
	t.Helper()
	var rs []namedReport
	readJSON(t, "reports.json", &rs)
	if len(rs) < 10 {
		t.Fatalf("testdata/reports.json holds %d reports, want at least 10", len(rs))
	}
	return rs
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
}

// TestBuildEqualsController: testdata/controller-results.json is what the
// controller's buildResults (pkg/reconciler/customrun/results.go, when
// pkg/results was created) returned for testdata/reports.json; Build with
// the controller's options must return exactly that, so switching the
// controller to Build changes no byte of any CustomRun's results. (The
// report with both violations and undecided findings says fail there since
// the engine's one verdict rule was adopted everywhere.)
func TestBuildEqualsController(t *testing.T) {
	var want []struct {
		Name    string `json:"name"`
		Results []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"results"`
	}
	readJSON(t, "controller-results.json", &want)
	reports := testReports(t)
	if len(want) != len(reports) {
		t.Fatalf("%d goldens for %d reports", len(want), len(reports))
	}
	for i, r := range reports {
		t.Run(r.Name, func(t *testing.T) {
			if want[i].Name != r.Name {
				t.Fatalf("golden %d is %q, want %q", i, want[i].Name, r.Name)
			}
			got, err := Build(r.Report, Options{MaxBytes: MaxBytes, FullReport: InExtraFields})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want[i].Results) {
				t.Fatalf("%d results, want %d", len(got), len(want[i].Results))
			}
			for j, w := range want[i].Results {
				if got[j].Name != w.Name || got[j].Value != w.Value {
					t.Errorf("result %d = %s=%s\nwant %s=%s", j, got[j].Name, got[j].Value, w.Name, w.Value)
				}
			}
			// The zero Options are the controller's.
			def, err := Build(r.Report, Options{})
			if err != nil || !equal(def, got) {
				t.Errorf("Build with zero Options differs from the controller's options: %v", err)
			}
		})
	}
}

func equal(a, b []Result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func values(rs []Result) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.Name] = r.Value
	}
	return m
}

func size(rs []Result) int {
	n := 0
	for _, r := range rs {
		n += len(r.Name) + len(r.Value)
	}
	return n
}

// TestBuildContract checks the documented properties for every report and
// several budgets: order, true counts, verified-images complete, the budget
// kept unless verified-images alone breaks it, truncation visible and
// naming where the full report is, messages cut at MaxMessage.
func TestBuildContract(t *testing.T) {
	for _, r := range testReports(t) {
		for _, opts := range []Options{
			{MaxBytes: MaxBytes, FullReport: InExtraFields},
			{MaxBytes: 2048, FullReport: "the step log"},
			{MaxBytes: 600, FullReport: "the step log"},
		} {
			t.Run(r.Name+"/"+strconv.Itoa(opts.MaxBytes), func(t *testing.T) {
				rep := r.Report
				got, err := Build(rep, opts)
				if err != nil {
					t.Fatal(err)
				}
				for i, n := range Names {
					if got[i].Name != n {
						t.Fatalf("result %d is %q, want %q (order verdict, violations, report, verified-images)", i, got[i].Name, n)
					}
				}
				v := values(got)
				if v[Verdict] != string(rep.Verdict) {
					t.Errorf("verdict = %q, want %q", v[Verdict], rep.Verdict)
				}
				if v[Violations] != strconv.Itoa(len(rep.Violations)) {
					t.Errorf("violations = %q, want the true count %d", v[Violations], len(rep.Violations))
				}
				var imgs []string
				if err := json.Unmarshal([]byte(v[VerifiedImages]), &imgs); err != nil || imgs == nil || len(imgs) != len(rep.VerifiedImages) {
					t.Errorf("verified-images = %s, want a JSON array of all %d images (%v)", v[VerifiedImages], len(rep.VerifiedImages), err)
				}
				var c CompactReport
				dec := json.NewDecoder(strings.NewReader(v[Report]))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&c); err != nil {
					t.Fatalf("report is not a compact report: %v\n%s", err, v[Report])
				}
				if b, _ := json.Marshal(c); len(b) != len(v[Report]) {
					t.Errorf("report is not compact JSON: %d bytes, compact is %d", len(v[Report]), len(b))
				}
				kept := len(c.Violations) + len(c.Errors) + len(c.Warnings)
				total := len(rep.Violations) + len(rep.Errors) + len(rep.Warnings)
				if kept+c.Omitted != total {
					t.Errorf("kept %d + omitted %d != %d findings", kept, c.Omitted, total)
				}
				if (c.Omitted > 0) != (c.Note != "") || (c.Omitted > 0 && !strings.Contains(c.Note, opts.FullReport)) {
					t.Errorf("truncation not visible: omitted %d, note %q", c.Omitted, c.Note)
				}
				imagesOnly := len(Verdict) + len(Violations) + len(Report) + len(VerifiedImages) +
					len(v[Verdict]) + len(v[Violations]) + len(v[VerifiedImages])
				minimal, _ := json.Marshal(compact(rep.Verdict, nil, total, opts))
				if imagesOnly+len(minimal) <= opts.MaxBytes && size(got) > opts.MaxBytes {
					t.Errorf("results take %d bytes, want at most %d", size(got), opts.MaxBytes)
				}
				// Kept findings are a prefix: violations, then errors, then warnings.
				if len(c.Errors) > 0 && len(c.Violations) != len(rep.Violations) ||
					len(c.Warnings) > 0 && len(c.Errors) != len(rep.Errors) {
					t.Errorf("kept findings are not a prefix: %d/%d violations, %d/%d errors, %d warnings",
						len(c.Violations), len(rep.Violations), len(c.Errors), len(rep.Errors), len(c.Warnings))
				}
				for _, f := range append(append(append([]gate.Finding{}, c.Violations...), c.Errors...), c.Warnings...) {
					if len(f.Message) > MaxMessage+len("…") {
						t.Errorf("message of %d bytes, want at most %d and an ellipsis", len(f.Message), MaxMessage)
					}
				}
			})
		}
	}
}

// TestBuildForTerminationMessage writes the results with Tekton's own
// termination-message writer: they must fit (with room left for what the
// entrypoint adds), and keep as much of the report as fits.
func TestBuildForTerminationMessage(t *testing.T) {
	const reserve = 256
	for _, r := range testReports(t) {
		t.Run(r.Name, func(t *testing.T) {
			got, fits, err := BuildForTerminationMessage(r.Report, TerminationMessageLimit-reserve, "the step log")
			if err != nil {
				t.Fatal(err)
			}
			entries := make([]result.RunResult, len(got))
			for i, x := range got {
				entries[i] = result.RunResult{Key: x.Name, Value: x.Value, ResultType: result.TaskRunResultType}
			}
			// What the entrypoint adds after the results.
			entries = append(entries,
				result.RunResult{Key: "StartedAt", Value: "2026-11-27T02:32:33.123Z", ResultType: result.InternalTektonResultType},
				result.RunResult{Key: "Reason", Value: "TimeoutExceeded", ResultType: result.InternalTektonResultType})
			path := filepath.Join(t.TempDir(), "termination-log")
			werr := termination.WriteMessage(path, entries)
			if fits != (werr == nil) {
				t.Fatalf("fits = %v, but Tekton's writer says %v", fits, werr)
			}
			if !fits {
				// Only verified-images may break the limit, and then the
				// report is the minimal one.
				var c CompactReport
				if err := json.Unmarshal([]byte(values(got)[Report]), &c); err != nil || c.Omitted == 0 && len(r.Report.Violations)+len(r.Report.Errors)+len(r.Report.Warnings) > 0 {
					t.Errorf("a report that does not fit is not the minimal one: %s", values(got)[Report])
				}
				if len(values(got)[VerifiedImages]) < TerminationMessageLimit/2 {
					t.Errorf("does not fit although verified-images is only %d bytes", len(values(got)[VerifiedImages]))
				}
				return
			}
			written, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := TerminationMessageSize(got); n > TerminationMessageLimit-reserve || n >= len(written) {
				t.Errorf("TerminationMessageSize = %d, limit %d, Tekton wrote %d with the entrypoint's own entries", n, TerminationMessageLimit-reserve, len(written))
			}
			// Nothing is cut when the whole report fits.
			full, err := Build(r.Report, Options{MaxBytes: 1 << 20, FullReport: "the step log"})
			if err != nil {
				t.Fatal(err)
			}
			if TerminationMessageSize(full) <= TerminationMessageLimit-reserve && !equal(full, got) {
				t.Errorf("report truncated although the whole report fits")
			}
		})
	}
}

// TestTerminationMessageSize agrees byte for byte with Tekton's writer.
func TestTerminationMessageSize(t *testing.T) {
	for _, r := range testReports(t) {
		rs, err := Build(r.Report, Options{})
		if err != nil {
			t.Fatal(err)
		}
		entries := make([]result.RunResult, len(rs))
		for i, x := range rs {
			entries[i] = result.RunResult{Key: x.Name, Value: x.Value, ResultType: result.TaskRunResultType}
		}
		b, err := json.Marshal(entries)
		if err != nil {
			t.Fatal(err)
		}
		if got := TerminationMessageSize(rs); got != len(b) {
			t.Errorf("%s: TerminationMessageSize = %d, Tekton's encoding takes %d", r.Name, got, len(b))
		}
	}
}

// TestVerdictIsDecided: the verdict result and the compact report carry
// gate.Decide's verdict: a violation next to an undecided finding is fail,
// and a report that contradicts itself is error, never its own claim.
func TestVerdictIsDecided(t *testing.T) {
	viol := []gate.Finding{{Check: gate.CheckImageSignature, Subject: gate.TextSubject("img"), Message: "unsigned"}}
	undecided := []gate.Finding{{Check: gate.CheckRegistry, Subject: gate.TextSubject("img2"), Message: "timeout", Transient: true}}
	for _, tc := range []struct {
		name string
		rep  *gate.Report
		want gate.Verdict
	}{
		{"violation and undecided", &gate.Report{Verdict: gate.VerdictFail, Violations: viol, Errors: undecided}, gate.VerdictFail},
		{"undecided alone", &gate.Report{Verdict: gate.VerdictError, Errors: undecided}, gate.VerdictError},
		{"claims pass with a violation", &gate.Report{Verdict: gate.VerdictPass, Violations: viol}, gate.VerdictFail},
		{"claims fail with nothing", &gate.Report{Verdict: gate.VerdictFail}, gate.VerdictError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Build(tc.rep, Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := values(rs)
			if v[Verdict] != string(tc.want) {
				t.Errorf("verdict result = %q, want %q", v[Verdict], tc.want)
			}
			var c CompactReport
			if err := json.Unmarshal([]byte(v[Report]), &c); err != nil {
				t.Fatal(err)
			}
			if c.Verdict != tc.want || len(c.Errors) != len(tc.rep.Errors) {
				t.Errorf("report result: verdict %q with %d errors, want %q with %d", c.Verdict, len(c.Errors), tc.want, len(tc.rep.Errors))
			}
		})
	}
}
