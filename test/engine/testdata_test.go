package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
	"github.com/security-gate/security-gate/pkg/manifest"
)

var update = flag.Bool("update", false, "rewrite test/testdata/*/report.expected.json from the engine's output")

// now fixes the clock so reports are reproducible.
var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func TestTestdata(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "*", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 7 && !*update {
		t.Fatalf("found %d test cases under test/testdata, want at least 7", len(dirs))
	}
	for _, policyPath := range dirs {
		dir := filepath.Dir(policyPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := verifyCase(t, dir)
			want := filepath.Join(dir, "report.expected.json")
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test ./test/engine -update to create it)", err)
			}
			if !bytes.Equal(exp, got) {
				t.Errorf("report of %s differs from %s (go test ./test/engine -update rewrites it):\n--- want\n%s\n--- got\n%s", dir, want, exp, got)
			}
		})
	}
}

// verifyCase runs the engine on one case directory and returns the report
// as indented JSON with a trailing newline.
func verifyCase(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := v1alpha1.ParsePolicy(data)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	docs, err := manifest.Load([]string{filepath.Join(dir, "input.yaml")}, nil)
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	objs := manifest.Objects(docs)
	res, err := local.New(objs)
	if err != nil {
		t.Fatal(err)
	}
	eng := gate.New(gate.Options{Resolver: res, Now: func() time.Time { return now }})
	rep := eng.Verify(context.Background(), &pol.Spec, gate.Input{Objects: objs})
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}
