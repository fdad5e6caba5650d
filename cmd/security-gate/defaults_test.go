package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/defaults"
)

// TestHelpStatesTheDefaults: the help text is prose, so it names the
// defaults in words; they must be pkg/defaults' values.
func TestHelpStatesTheDefaults(t *testing.T) {
	help := strings.Join(strings.Fields(verifyHelp), " ")
	for _, want := range []string{
		fmt.Sprintf("(default %s)", strings.TrimSuffix(defaults.RunTimeout.String(), "0s")),
		fmt.Sprintf("gets at most %s", defaults.RegistryTimeout),
		fmt.Sprintf("parallel registry verifications (default %d)", defaults.Concurrency),
	} {
		if !strings.Contains(help, want) {
			t.Errorf("verify --help does not say %q", want)
		}
	}
}
