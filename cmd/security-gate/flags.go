package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/security-gate/security-gate/pkg/output"
)

// Defaults of `verify`.
const (
	defaultTimeout     = 5 * time.Minute
	defaultConcurrency = 8
	// requestTimeout bounds one registry request (the whole run is bounded by
	// --timeout); a stalled registry becomes "could not decide", not a hang.
	requestTimeout = 30 * time.Second
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*s = append(*s, v)
	return nil
}

// verifyOptions are the parsed flags of `verify`.
type verifyOptions struct {
	policy      string
	files       stringList
	images      stringList
	format      output.Format
	gateTask    string
	now         time.Time // zero: the wall clock
	timeout     time.Duration
	concurrency int
	color       string // auto, always, never

	// --pipelinerun mode (issue 6): read the run from the cluster.
	pipelineRun string
	namespace   string
	kubeconfig  string
}

const verifyHelp = `Verify Tekton objects against a SecurityGate or ClusterSecurityGate policy.

Usage:
  security-gate verify --policy FILE [-f FILE|DIR|-]... [--image REF]... [flags]
  security-gate verify --policy FILE --pipelinerun NAME [--namespace NS] [--kubeconfig FILE] [--image REF]... [flags]

Inputs are PipelineRun, Pipeline, TaskRun, Task and StepAction objects
(tekton.dev/v1 and v1beta1) in YAML or JSON, several documents per file.
Every PipelineRun and TaskRun is verified together with what it references
by name among the given objects; a Pipeline or Task that no run references
is verified on its own with its parameter defaults. Bundle references are
read from the registry, at the digest whose signature was verified; other
remote resolvers (git, hub, cluster, http) are reported as unresolved.
With --pipelinerun the run is read from the cluster and resolved exactly
as Tekton resolved it.

Flags:
      --policy FILE          policy: one SecurityGate or ClusterSecurityGate
                             (YAML or JSON; "-" reads stdin). Required.
                             key.secretRef is not supported outside a cluster:
                             put PEM public keys in key.data
  -f, --filename PATH        a file, a directory (read recursively: *.yaml,
                             *.yml, *.json) or "-" for stdin; repeatable
      --image REF            an extra image to verify with the images and
                             attestations rules, e.g. what a build pushed;
                             repeatable
  -o, --output FORMAT        text (default), json, junit or sarif
      --gate-task NAME       the pipeline task that is the gate, when it is
                             not a securitygate.dev custom task (e.g. the
                             catalog Task); a pipeline that does not contain
                             it is then a gate-order finding
      --now TIME             the time used for exception expiry and
                             attestation age, RFC 3339
                             (e.g. 2026-01-31T00:00:00Z); default: now
      --timeout DURATION     give up after this long and exit 2 (default 5m)
      --concurrency N        parallel registry verifications (default 8)
      --color WHEN           auto (default: on a terminal, unless NO_COLOR
                             is set), always or never; text output only
      --pipelinerun NAME     verify this PipelineRun from the cluster instead
                             of -f inputs
      --namespace NS         namespace of --pipelinerun (default: the
                             namespace of the kubeconfig context, or the
                             pod's namespace in a cluster)
      --kubeconfig FILE      kubeconfig for --pipelinerun (default: in-cluster
                             config, else $KUBECONFIG or ~/.kube/config)
  -h, --help                 show this help

Output (-o):
  text   for people: findings grouped by task, one line each
         ("✗" violation, "!" warning, "?" could not decide), then a
         one-line verdict with counts
  json   exactly one JSON object: {"verdict", "violations", "warnings",
         "errors" (only when something could not be decided), "summary"}
  junit  JUnit XML: a testsuite per check, a testcase per check and subject
  sarif  SARIF 2.1.0, one run, one rule per check id

Examples:
  # Verify a PipelineRun and the Pipeline and Tasks it uses
  security-gate verify --policy policy.yaml -f .tekton/

  # Read objects from stdin and print a JSON report for scripts
  kubectl get pipelinerun release-42 -o yaml | security-gate verify --policy policy.yaml -f - -o json

  # Also verify the image a build pushed, reproducibly
  security-gate verify --policy policy.yaml -f pipeline.yaml \
    --image registry.example.com/app@sha256:<digest> --now 2026-01-31T00:00:00Z

  # SARIF for code-scanning dashboards, JUnit for test reports
  security-gate verify --policy policy.yaml -f .tekton/ -o sarif > security-gate.sarif
  security-gate verify --policy policy.yaml -f .tekton/ -o junit > security-gate.xml

  # From a step inside the cluster: verify the PipelineRun this step belongs to
  security-gate verify --policy /etc/security-gate/policy.yaml \
    --pipelinerun "$(context.pipelineRun.name)" --namespace "$(context.pipelineRun.namespace)" \
    --gate-task security-gate

Exit status:
  0  passed, possibly with warnings (mode Warn reports violations as warnings)
  1  at least one violation (mode Enforce)
  2  could not decide: usage error, invalid policy, unreadable or invalid
     input, registry or cluster trouble, timeout. Never 0.
`

// usageError is a bad command line: exit 2 with the message and the help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// verifyFlagSet defines the flags of verify on o; -o and --now are returned
// as strings to be checked after parsing.
func verifyFlagSet(o *verifyOptions) (fs *flag.FlagSet, format, now *string) {
	fs = flag.NewFlagSet("verify", flag.ContinueOnError)
	// Errors are reported by the caller, with a pointer to the help.
	fs.SetOutput(io.Discard)
	format, now = new(string), new(string)
	fs.StringVar(&o.policy, "policy", "", "")
	fs.Var(&o.files, "filename", "")
	fs.Var(&o.files, "f", "")
	fs.Var(&o.images, "image", "")
	fs.StringVar(format, "output", string(output.FormatText), "")
	fs.StringVar(format, "o", string(output.FormatText), "")
	fs.StringVar(&o.gateTask, "gate-task", "", "")
	fs.StringVar(now, "now", "", "")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "")
	fs.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "")
	fs.StringVar(&o.color, "color", "auto", "")
	fs.StringVar(&o.pipelineRun, "pipelinerun", "", "")
	fs.StringVar(&o.namespace, "namespace", "", "")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "")
	return fs, format, now
}

// parseVerifyFlags parses and checks the flags of verify. It returns
// flag.ErrHelp for -h/--help and a *usageError for anything wrong.
func parseVerifyFlags(args []string) (*verifyOptions, error) {
	o := &verifyOptions{}
	fs, format, now := verifyFlagSet(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q: inputs are given with -f", fs.Arg(0))
	}
	f, err := output.ParseFormat(*format)
	if err != nil {
		return nil, &usageError{"-o: " + err.Error()}
	}
	o.format = f
	if o.policy == "" {
		return nil, usagef("--policy is required: a SecurityGate or ClusterSecurityGate YAML file")
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return nil, usagef("--now %q: want an RFC 3339 time such as 2026-01-31T00:00:00Z", *now)
		}
		o.now = t
	}
	if o.timeout <= 0 {
		return nil, usagef("--timeout %s: want a positive duration such as 5m", o.timeout)
	}
	if o.concurrency < 1 {
		return nil, usagef("--concurrency %d: want at least 1", o.concurrency)
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return nil, usagef("--color %q: want auto, always or never", o.color)
	}
	stdinUsers := 0
	if o.policy == "-" {
		stdinUsers++
	}
	for _, p := range o.files {
		if p == "-" {
			stdinUsers++
		}
	}
	if stdinUsers > 1 {
		return nil, usagef(`stdin ("-") can be read only once: by --policy or by one -f`)
	}
	if o.pipelineRun != "" {
		if len(o.files) > 0 {
			return nil, usagef("--pipelinerun reads the run from the cluster: it cannot be combined with -f")
		}
	} else {
		if o.namespace != "" || o.kubeconfig != "" {
			return nil, usagef("--namespace and --kubeconfig apply only with --pipelinerun")
		}
		if len(o.files) == 0 && len(o.images) == 0 {
			return nil, usagef("nothing to verify: give -f FILE|DIR|-, --image REF or --pipelinerun NAME")
		}
	}
	return o, nil
}
