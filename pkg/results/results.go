package results

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/security-gate/security-gate/pkg/gate"
)

// Result names: the contract of the custom task and of the catalog Task.
const (
	Verdict        = "verdict"
	Violations     = "violations"
	Report         = "report"
	VerifiedImages = "verified-images"
)

// Names are the result names in the documented order.
var Names = []string{Verdict, Violations, Report, VerifiedImages}

// MaxBytes is the controller's budget for the names and values of all results
// of one run. CustomRun results live in the object, not in a termination
// message, so Tekton's 4 KiB TaskRun limit does not strictly apply; keeping to
// it keeps the results consumable anywhere a TaskRun's would be (and small in
// the PipelineRun's status, which copies them).
const MaxBytes = 4096

// MaxMessage bounds one finding's message in the compact report.
const MaxMessage = 300

// InExtraFields is where the controller keeps the full report; the CLI's is
// its own output (the step log).
const InExtraFields = "status.extraFields.report"

// Result is one named string result.
type Result struct {
	Name  string
	Value string
}

// Options bound and describe the results.
type Options struct {
	// MaxBytes bounds len(Name)+len(Value) summed over the four results;
	// only the report gives way. Zero means MaxBytes.
	MaxBytes int
	// FullReport says, in the truncation note, where the untruncated report
	// is (e.g. InExtraFields, or "the step log"). Empty means InExtraFields.
	FullReport string
}

// CompactReport is the value of the report result: the findings without the
// summary, truncated visibly when they do not fit.
type CompactReport struct {
	Verdict    gate.Verdict   `json:"verdict"`
	Violations []gate.Finding `json:"violations,omitempty"`
	Errors     []gate.Finding `json:"errors,omitempty"`
	Warnings   []gate.Finding `json:"warnings,omitempty"`
	// Omitted counts findings omitted to stay under the budget.
	Omitted int `json:"omitted,omitempty"`
	// Note says where the rest is, present exactly when Omitted > 0.
	Note string `json:"note,omitempty"`
}

// Build returns the four results for rep, in the documented order: verdict,
// violations, report, verified-images. violations is the true count even
// when the report is truncated. verified-images is never truncated; the
// report gives way instead: it keeps the longest prefix of findings
// (violations, then errors, then warnings) that fits the remaining budget
// and counts the rest in "omitted" with a note. When not even the verdict
// and the note fit (a huge verified-images), the report is that minimum
// anyway, so the budget can be exceeded only by verified-images.
//
// The error is json.Marshal's, which the types here never produce; callers
// still treat it as "could not decide".
func Build(rep *gate.Report, opts Options) ([]Result, error) {
	if opts.MaxBytes == 0 {
		opts.MaxBytes = MaxBytes
	}
	if opts.FullReport == "" {
		opts.FullReport = InExtraFields
	}
	images := rep.VerifiedImages
	if images == nil {
		images = []string{}
	}
	imgJSON, err := json.Marshal(images)
	if err != nil {
		return nil, err
	}
	// The verdict by the engine's one rule, never a re-derivation of it.
	v := gate.Decide(rep)
	verdict := Result{Name: Verdict, Value: string(v)}
	violations := Result{Name: Violations, Value: strconv.Itoa(len(rep.Violations))}
	verified := Result{Name: VerifiedImages, Value: string(imgJSON)}
	used := len(Report)
	for _, r := range []Result{verdict, violations, verified} {
		used += len(r.Name) + len(r.Value)
	}
	report, err := compactJSON(rep, v, opts.MaxBytes-used, opts)
	if err != nil {
		return nil, err
	}
	return []Result{verdict, violations, {Name: Report, Value: report}, verified}, nil
}

// finding is one finding of the compact report and the list it belongs to.
type finding struct {
	list int // 0 violations, 1 errors, 2 warnings
	f    gate.Finding
}

// compactJSON renders the findings of rep in at most budget bytes when it
// can; see Build.
func compactJSON(rep *gate.Report, v gate.Verdict, budget int, opts Options) (string, error) {
	var all []finding
	for list, from := range [][]gate.Finding{rep.Violations, rep.Errors, rep.Warnings} {
		for _, f := range from {
			if len(f.Message) > MaxMessage {
				f.Message = f.Message[:MaxMessage] + "…"
			}
			all = append(all, finding{list, f})
		}
	}
	out, err := json.Marshal(compact(v, all, 0, opts))
	if err != nil || len(out) <= budget {
		return string(out), err
	}
	// Keep the longest prefix of findings that fits together with the note.
	// Longer prefixes are never shorter, so a binary search finds it.
	lo, hi := 0, len(all)
	var best []byte
	for lo <= hi {
		mid := (lo + hi) / 2
		b, err := json.Marshal(compact(v, all[:mid], len(all)-mid, opts))
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

// compact is the report of kept findings with omitted more left out.
func compact(v gate.Verdict, kept []finding, omitted int, opts Options) CompactReport {
	c := CompactReport{Verdict: v}
	for _, it := range kept {
		switch it.list {
		case 0:
			c.Violations = append(c.Violations, it.f)
		case 1:
			c.Errors = append(c.Errors, it.f)
		default:
			c.Warnings = append(c.Warnings, it.f)
		}
	}
	if omitted > 0 {
		total := len(kept) + omitted
		c.Omitted = omitted
		c.Note = fmt.Sprintf("%d of %d findings omitted to stay under %d bytes of results; the full report is in %s",
			omitted, total, opts.MaxBytes, opts.FullReport)
	}
	return c
}
