package results

import (
	"encoding/json"

	"github.com/security-gate/security-gate/pkg/gate"
)

// TerminationMessageLimit is the most Tekton's entrypoint writes to a step
// container's termination message, results included; above it the step
// fails with "Termination message is above max allowed size 4096" and the
// results are lost.
const TerminationMessageLimit = 4096

// terminationEntry is how the entrypoint carries one Task result in the
// termination message (key, value, type 1 = task result).
type terminationEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Type  int    `json:"type"`
}

// TerminationMessageSize is the number of bytes rs take in a termination
// message: a JSON array of {"key","value","type"}, the values escaped
// (quotes, and <, > and & as \u003c…, which the compact report is full of).
func TerminationMessageSize(rs []Result) int {
	entries := make([]terminationEntry, len(rs))
	for i, r := range rs {
		entries[i] = terminationEntry{Key: r.Name, Value: r.Value, Type: 1}
	}
	b, err := json.Marshal(entries)
	if err != nil {
		// Strings always marshal; an impossible error must not look small.
		return int(^uint(0) >> 1)
	}
	return len(b)
}

// BuildForTerminationMessage is Build with the largest budget whose results
// take at most limit bytes in a termination message, for a Task step whose
// results Tekton reads from files (--results-dir). The budget of Build
// counts raw bytes; the termination message escapes the JSON report, so
// the same budget would overflow it exactly when there is most to report.
// The caller keeps room in limit for what the entrypoint adds itself
// (StartedAt, and Reason or ExitCode).
//
// fits is false when even the smallest report does not fit (verified-images
// alone is too long); the results are then the smallest ones, and Tekton
// will fail the step rather than pass it without them.
func BuildForTerminationMessage(rep *gate.Report, limit int, fullReport string) (rs []Result, fits bool, err error) {
	build := func(budget int) ([]Result, error) {
		return Build(rep, Options{MaxBytes: budget, FullReport: fullReport})
	}
	// Budget 1 is the smallest report; MaxBytes 0 would mean the default.
	lo, hi := 1, limit
	for lo <= hi {
		mid := lo + (hi-lo)/2
		r, err := build(mid)
		if err != nil {
			return nil, false, err
		}
		if TerminationMessageSize(r) <= limit {
			rs, fits = r, true
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	if rs == nil {
		rs, err = build(1)
		if err != nil {
			return nil, false, err
		}
	}
	return rs, fits, nil
}
