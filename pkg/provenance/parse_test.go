package provenance_test

import (
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/provenance"
)

// TestParseRejects: a signed statement that is not SLSA provenance as
// expected is an error naming what is wrong, never an empty provenance.
func TestParseRejects(t *testing.T) {
	const sub = `"subject":[{"name":"r/app","digest":{"sha256":"` + appHex + `"}}]`
	v1 := func(pred string) string {
		return `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1",` + sub + `,"predicate":` + pred + `}`
	}
	v02 := func(pred string) string {
		return `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2",` + sub + `,"predicate":` + pred + `}`
	}
	const okV1 = `{"buildDefinition":{"buildType":"t"},"runDetails":{"builder":{"id":"b"}}}`
	tests := []struct{ name, doc, want string }{
		{"not JSON", `{"_type":`, "in-toto statement"},
		{"another statement type", strings.Replace(v1(okV1), "in-toto.io/Statement/v1", "example.com/Statement", 1), "_type"},
		{"no subject", strings.Replace(v1(okV1), sub, `"subject":[]`, 1), "no subject"},
		{"a vulnerability scan", strings.Replace(v1(okV1), "https://slsa.dev/provenance/v1", "https://cosign.sigstore.dev/attestation/vuln/v1", 1), "not SLSA provenance"},
		{"no predicate", v1("null"), "no predicate"},
		{"v1 without buildType", v1(`{"buildDefinition":{},"runDetails":{"builder":{"id":"b"}}}`), "buildDefinition.buildType missing"},
		{"v1 without builder", v1(`{"buildDefinition":{"buildType":"t"},"runDetails":{}}`), "runDetails.builder.id missing"},
		{"v1 digest of the wrong type", v1(`{"buildDefinition":{"buildType":"t","resolvedDependencies":[{"uri":"oci://r/x","digest":"sha256:` + appHex + `"}]},"runDetails":{"builder":{"id":"b"}}}`), "SLSA v1 provenance"},
		{"v1 invocationId of the wrong type", v1(`{"buildDefinition":{"buildType":"t"},"runDetails":{"builder":{"id":"b"},"metadata":{"invocationId":7}}}`), "SLSA v1 provenance"},
		{"v1 bad time", v1(`{"buildDefinition":{"buildType":"t"},"runDetails":{"builder":{"id":"b"},"metadata":{"finishedOn":"yesterday"}}}`), "SLSA v1 provenance"},
		{"v0.2 without builder", v02(`{"buildType":"tekton.dev/v1/TaskRun"}`), "builder.id missing"},
		{"v0.2 materials not a list", v02(`{"builder":{"id":"b"},"materials":{}}`), "SLSA v0.2 provenance"},
		{"too large", v1(`{"buildDefinition":{"buildType":"` + strings.Repeat("x", provenance.MaxStatementSize) + `"}}`), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := provenance.ParseStatement([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %+v, %v; want an error containing %q", st, err, tt.want)
			}
		})
	}
}
