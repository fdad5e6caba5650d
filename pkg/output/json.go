package output

import (
	"encoding/json"
	"io"

	"github.com/security-gate/security-gate/pkg/gate"
)

// JSON writes exactly one JSON object: the Report's JSON form, with
// "violations" and "warnings" always arrays (never null) and "errors" only
// when something could not be decided.
func JSON(w io.Writer, r *gate.Report) error {
	n := normalize(r)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Image references and messages are not HTML; keep "<" and "&" readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(&n)
}
