package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/security-gate/security-gate/pkg/version"
)

// Exit codes: the contract CI systems and the catalog Task rely on.
const (
	exitPass      = 0 // passed, possibly with warnings
	exitViolation = 1 // at least one violation in mode Enforce
	exitUndecided = 2 // could not decide, including usage errors
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what the command takes from its surroundings besides arguments and
// streams; tests replace it (fake cluster clients).
type env struct {
	connect connectFunc
}

// run is the command with the real cluster connection.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(args, stdin, stdout, stderr, env{connect: connectCluster})
}

const rootHelp = `security-gate verifies everything a Tekton PipelineRun will execute against
a security policy: where pipelines and tasks come from (signed Tekton bundles),
how images are pinned and signed, signed attestations and vulnerability scans,
the securityContext of every step and sidecar, and that nothing runs before
the gate has succeeded.

Usage:
  security-gate <command> [flags]

Commands:
  verify    Verify Tekton objects (files, directories, stdin) or a live
            PipelineRun against a SecurityGate or ClusterSecurityGate policy
  version   Print the version of this binary
  tuf       Serialize a Sigstore TUF repository for clusters with no network
  help      Show help for a command

Run 'security-gate <command> --help' for the flags and examples of a command.

Exit status:
  0  passed, possibly with warnings
  1  at least one violation (policy mode Enforce)
  2  could not decide: usage error, invalid policy, unreadable or invalid
     input, registry or cluster trouble, timeout
`

// runWith is the whole command: it parses args, reads stdin when asked to,
// writes the result to stdout and diagnostics to stderr, and returns the
// exit code.
func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer, e env) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rootHelp)
		return exitUndecided
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "verify":
		return runVerify(rest, stdin, stdout, stderr, e)
	case "version":
		return runVersion(rest, stdout, stderr)
	case "tuf":
		return runTUF(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			switch rest[0] {
			case "verify":
				return runVerify([]string{"--help"}, stdin, stdout, stderr, e)
			case "version":
				return runVersion([]string{"--help"}, stdout, stderr)
			case "tuf":
				return runTUF([]string{"--help"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "security-gate: unknown command %q\n\n%s", rest[0], rootHelp)
			return exitUndecided
		}
		fmt.Fprint(stdout, rootHelp)
		return exitPass
	default:
		fmt.Fprintf(stderr, "security-gate: unknown command %q\n\n%s", cmd, rootHelp)
		return exitUndecided
	}
}

const versionHelp = `Print the version of this binary.

Usage:
  security-gate version [-o text|json]

Flags:
  -o, --output FORMAT   text (default) or json

Examples:
  security-gate version
  security-gate version -o json
`

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var format string
	fs.StringVar(&format, "output", "text", "")
	fs.StringVar(&format, "o", "text", "")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, versionHelp)
			return exitPass
		}
		fmt.Fprintf(stderr, "security-gate version: %v\n\n%s", err, versionHelp)
		return exitUndecided
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "security-gate version: unexpected argument %q\n\n%s", fs.Arg(0), versionHelp)
		return exitUndecided
	}
	info := version.Get()
	switch format {
	case "text":
		fmt.Fprintf(stdout, "security-gate %s (commit %s, %s)\n", info.Version, info.Commit, info.GoVersion)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			fmt.Fprintf(stderr, "security-gate version: %v\n", err)
			return exitUndecided
		}
	default:
		fmt.Fprintf(stderr, "security-gate version: unknown output format %q: expected text or json\n", format)
		return exitUndecided
	}
	return exitPass
}
