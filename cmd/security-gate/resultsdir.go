package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/results"
)

// terminationReserve is the room left in the 4 KiB termination message for
// what Tekton's entrypoint adds to the results itself: StartedAt, and
// Reason or ExitCode (about 150 bytes together).
const terminationReserve = 256

// resultsFullReport is where the truncation note of the report result
// points: the step's own output, as the controller's points at
// status.extraFields.
const resultsFullReport = "the step log (security-gate verify output)"

// checkResultsDir fails early when --results-dir is not a directory we can
// write to, rather than after the verification.
func checkResultsDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--results-dir %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--results-dir %s: not a directory", dir)
	}
	return nil
}

// writeResults writes the Tekton result files verdict, violations, report
// and verified-images into dir, with the controller's values
// (pkg/results), the report sized so that all four fit Tekton's termination
// message. Files are mode 0644 whatever the umask: Tekton's entrypoint may
// read them as another user in the same pod. Any failure is returned, and
// is exit 2.
func writeResults(dir string, rep *gate.Report, stderr io.Writer) error {
	rs, fits, err := results.BuildForTerminationMessage(rep, results.TerminationMessageLimit-terminationReserve, resultsFullReport)
	if err != nil {
		return fmt.Errorf("rendering the results: %v", err)
	}
	if !fits {
		// Tekton will fail the step instead of passing it: say why.
		fmt.Fprintf(stderr, "security-gate verify: warning: the results do not fit Tekton's %d-byte termination message (verified-images lists %d images); the step will fail\n",
			results.TerminationMessageLimit, len(rep.VerifiedImages))
	}
	for _, r := range rs {
		if err := writeFile(filepath.Join(dir, r.Name), r.Value); err != nil {
			return fmt.Errorf("writing the %s result to --results-dir %s: %v", r.Name, dir, err)
		}
	}
	return nil
}

func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if _, err := io.WriteString(f, value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
