package customrun

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/pkg/gate"
)

// MaxResultsBytes bounds the names and values of all results of one run.
// CustomRun results live in the object, not in a termination message, so
// Tekton's 4 KiB TaskRun limit does not strictly apply; keeping to it keeps
// the gate's results consumable anywhere a TaskRun's would be (and small in
// the PipelineRun's status, which copies them).
const MaxResultsBytes = 4096

// maxMessage bounds one finding's message in the compact report.
const maxMessage = 300

// compactReport is the `report` result: the findings, without the summary,
// truncated visibly when they do not fit.
type compactReport struct {
	Verdict    gate.Verdict   `json:"verdict"`
	Violations []gate.Finding `json:"violations,omitempty"`
	Errors     []gate.Finding `json:"errors,omitempty"`
	Warnings   []gate.Finding `json:"warnings,omitempty"`
	// Omitted counts findings left out to stay under MaxResultsBytes.
	Omitted int `json:"omitted,omitempty"`
	// Note says where the rest is, present exactly when Omitted > 0.
	Note string `json:"note,omitempty"`
}

// extraFields is status.extraFields: the full report.
type extraFields struct {
	Policy string       `json:"policy,omitempty"`
	Report *gate.Report `json:"report"`
}

// buildResults returns the four results for a report. verified-images is
// never truncated (downstream tasks pin what it lists; a partial list would
// be silently wrong); the report gives way instead.
func buildResults(rep *gate.Report) ([]v1beta1.CustomRunResult, error) {
	images := rep.VerifiedImages
	if images == nil {
		images = []string{}
	}
	imgJSON, err := json.Marshal(images)
	if err != nil {
		return nil, err
	}
	res := []v1beta1.CustomRunResult{
		{Name: ResultVerdict, Value: string(rep.Verdict)},
		{Name: ResultViolations, Value: strconv.Itoa(len(rep.Violations))},
		{Name: ResultVerifiedImages, Value: string(imgJSON)},
	}
	used := len(ResultReport)
	for _, r := range res {
		used += len(r.Name) + len(r.Value)
	}
	report, err := compactJSON(rep, MaxResultsBytes-used)
	if err != nil {
		return nil, err
	}
	// Order as documented: verdict, violations, report, verified-images.
	return []v1beta1.CustomRunResult{res[0], res[1], {Name: ResultReport, Value: report}, res[2]}, nil
}

// compactJSON renders the findings of rep in at most budget bytes when it
// can: violations first, then errors, then warnings; what does not fit is
// counted in "omitted" with a note pointing at status.extraFields.
func compactJSON(rep *gate.Report, budget int) (string, error) {
	type item struct {
		list *[]gate.Finding
		f    gate.Finding
	}
	var c compactReport
	c.Verdict = rep.Verdict
	var all []item
	for _, src := range []struct {
		from []gate.Finding
		to   *[]gate.Finding
	}{{rep.Violations, &c.Violations}, {rep.Errors, &c.Errors}, {rep.Warnings, &c.Warnings}} {
		for _, f := range src.from {
			if len(f.Message) > maxMessage {
				f.Message = f.Message[:maxMessage] + "…"
			}
			all = append(all, item{src.to, f})
		}
	}
	for _, it := range all {
		*it.list = append(*it.list, it.f)
	}
	out, err := json.Marshal(c)
	if err != nil || len(out) <= budget {
		return string(out), err
	}
	// Shrink: keep the longest prefix of findings that fits with the note.
	lo, hi := 0, len(all)
	var best []byte
	for lo <= hi {
		mid := (lo + hi) / 2
		t := compactReport{Verdict: rep.Verdict, Omitted: len(all) - mid,
			Note: fmt.Sprintf("%d of %d findings omitted to stay under %d bytes of results; the full report is in status.extraFields.report", len(all)-mid, len(all), MaxResultsBytes)}
		for _, it := range all[:mid] {
			switch it.list {
			case &c.Violations:
				t.Violations = append(t.Violations, it.f)
			case &c.Errors:
				t.Errors = append(t.Errors, it.f)
			default:
				t.Warnings = append(t.Warnings, it.f)
			}
		}
		b, err := json.Marshal(t)
		if err != nil {
			return "", err
		}
		if len(b) <= budget || mid == 0 {
			best = b
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return string(best), nil
}
