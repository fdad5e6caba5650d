package vuln

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// FuzzParse checks that Parse never panics, that every error wraps
// ErrUnrecognized, and that whatever it accepts can be judged. The seed
// corpus (every testdata document under every predicate type) runs in
// ordinary go test.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed documents: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i := range PredicateTypes {
			f.Add(uint8(i), b)
		}
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"scanner":{"result":[{"vulnerability":null}]}}`,
		`{"scanner":{"result":{"matches":null}}}`, `{"scanner":{"result":[{"id":"x","severity":{"score":1e999}}]}}`} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(4), []byte(s))
	}
	policy := &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH", "UNKNOWN"}, IgnoreUnfixed: true,
		Exceptions: []v1alpha1.VulnerabilityException{{ID: "CVE-2023-5363", Expires: "2099-01-01", Reason: "r"}}}
	f.Fuzz(func(t *testing.T, kind uint8, doc []byte) {
		pt := PredicateTypes[int(kind)%len(PredicateTypes)]
		s, err := Parse(pt, doc)
		if err != nil {
			if !errors.Is(err, ErrUnrecognized) || s != nil {
				t.Fatalf("Parse = %v, %v; errors must wrap ErrUnrecognized and carry no scan", s, err)
			}
			return
		}
		for _, fd := range s.Findings {
			if fd.ID == "" {
				t.Fatalf("accepted a finding without an id: %+v", fd)
			}
			if fd.Severity.rank() == 0 && fd.Severity != SeverityUnknown {
				t.Fatalf("severity %q is not normalised", fd.Severity)
			}
		}
		r := Evaluate(s, policy, "registry.example/a", time.Unix(0, 0))
		if r.Denied != (len(r.Violations) > 0) {
			t.Fatalf("Denied %v with %d violations", r.Denied, len(r.Violations))
		}
	})
}
