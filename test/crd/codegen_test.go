package crd

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsFresh fails when zz_generated.deepcopy.go, pkg/client or
// the CRDs differ from what hack/update-codegen.sh produces from types.go. It
// builds the pinned generators, so it is skipped under -short.
func TestGeneratedCodeIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the code generators; skipped with -short (make test-codegen runs it)")
	}
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "hack", "verify-codegen.sh"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/verify-codegen.sh: %v\n%s\nRun hack/update-codegen.sh and commit the result.", err, out)
	}
}
