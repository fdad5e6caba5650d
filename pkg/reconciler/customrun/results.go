package customrun

import (
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/results"
)

// MaxResultsBytes bounds the names and values of all results of one run
// (see results.MaxBytes for why 4 KiB).
const MaxResultsBytes = results.MaxBytes

// compactReport is the `report` result (results.CompactReport).
type compactReport = results.CompactReport

// extraFields is status.extraFields: the full report.
type extraFields struct {
	Policy string       `json:"policy,omitempty"`
	Report *gate.Report `json:"report"`
}

// buildResults returns the four results for a report, rendered by
// pkg/results exactly as the catalog Task's CLI renders them; the
// truncation note points at status.extraFields.report.
func buildResults(rep *gate.Report) ([]v1beta1.CustomRunResult, error) {
	rs, err := results.Build(rep, results.Options{MaxBytes: MaxResultsBytes, FullReport: results.InExtraFields})
	if err != nil {
		return nil, err
	}
	out := make([]v1beta1.CustomRunResult, len(rs))
	for i, r := range rs {
		out[i] = v1beta1.CustomRunResult{Name: r.Name, Value: r.Value}
	}
	return out, nil
}
