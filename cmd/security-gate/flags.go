package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/output"
)

// registryTimeout is the budget of one registry request in a run bounded by
// runTimeout: defaults.RegistryTimeout, but at most a quarter of the run, so a
// request that stalls is reported as the registry's fault (naming the
// request) while the run still has time to say so, instead of every request
// waiting out the whole run.
func registryTimeout(runTimeout time.Duration) time.Duration {
	return min(defaults.RegistryTimeout, runTimeout/4)
}

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

	// --pipelinerun mode: read the run from the cluster.
	pipelineRun string
	namespace   string
	kubeconfig  string

	// --policy-name: a ClusterSecurityGate read from the cluster, its
	// key.secretRefs from controllerNamespace, as the controller does.
	policyName          string
	controllerNamespace string

	// resultsDir receives the Tekton result files (the catalog Task).
	resultsDir string

	// vsa: --vsa-key and --vsa-layout (vsa.go).
	vsa vsaOptions

	// tuf: --tuf-cache-dir, --sigstore-tuf-mirror, --sigstore-tuf-root
	// (trustroot.go).
	tuf tufOptions

	// taskRun: verify the PipelineRun this TaskRun belongs to (the catalog
	// Task's own run), found through its ownerReference (taskrun.go).
	taskRun string

	// provenance: judge each image's provenance with spec.provenance, and
	// refuse a policy without it (provenance.go).
	provenance bool
}

// defaultControllerNamespace is where config/ installs the controller.
const defaultControllerNamespace = "security-gate"

const verifyHelp = `Verify Tekton objects against a SecurityGate or ClusterSecurityGate policy.

Usage:
  security-gate verify (--policy FILE | --policy-name NAME) [-f FILE|DIR|-]... [--image REF]... [flags] [--] [IMAGE...]
  security-gate verify (--policy FILE | --policy-name NAME) --pipelinerun NAME [--namespace NS] [--kubeconfig FILE]
                       [--results-dir DIR] [flags] [--] [IMAGE...]
  security-gate verify (--policy FILE | --policy-name NAME) --taskrun NAME [--namespace NS] [--kubeconfig FILE]
                       [--results-dir DIR] [flags] [--] [IMAGE...]

Inputs are PipelineRun, Pipeline, TaskRun, Task and StepAction objects
(tekton.dev/v1 and v1beta1) in YAML or JSON, several documents per file.
Every PipelineRun and TaskRun is verified together with what it references
by name among the given objects; a Pipeline or Task that no run references
is verified on its own with its parameter defaults. Bundle references are
read from the registry, at the digest whose signature was verified; other
remote resolvers (git, hub, cluster, http) are reported as unresolved.
With --pipelinerun the run is read from the cluster and resolved exactly
as Tekton resolved it.

Arguments are images, exactly like --image; everything after "--" is an
image, even if it starts with "-".

Policy (exactly one):
      --policy FILE          one SecurityGate or ClusterSecurityGate (YAML or
                             JSON; "-" reads stdin). key.secretRef is not
                             supported in a file: put PEM public keys in
                             key.data, or apply the policy and use
                             --policy-name
      --policy-name NAME     the ClusterSecurityGate NAME, read from the
                             cluster (same configuration as --pipelinerun;
                             needs get on clustersecuritygates.securitygate.dev)
                             and defaulted and validated as the controller
                             does; its key.secretRefs are read from
                             --controller-namespace, as the controller does
      --controller-namespace NS
                             namespace of the security-gate controller, where
                             the key.secretRef Secrets of a --policy-name
                             policy are read (needs get on those secrets)
                             (default security-gate)

Flags:
  -f, --filename PATH        a file, a directory (read recursively: *.yaml,
                             *.yml, *.json) or "-" for stdin; repeatable
      --image REF            an extra image to verify with the images and
                             attestations rules, e.g. what a build pushed;
                             repeatable; the same as an IMAGE argument
      --provenance           judge each image's signed SLSA provenance (as
                             Tekton Chains writes it) with the policy's
                             spec.provenance rules; refused (exit 2) when the
                             policy has none. Offline there is no run to bind
                             it to (a note says so); with --pipelinerun or
                             --taskrun each image is traced to the TaskRun
                             of the run that built it, and the command waits
                             (at most 3/4 of --timeout, watching the run's
                             TaskRuns) until Chains has signed it. With
                             spec.provenance this happens with or without
                             the flag
  -o, --output FORMAT        text (default), json, junit or sarif
      --gate-task NAME       the pipeline task that is the gate, when it is
                             not a securitygate.dev custom task (e.g. the
                             catalog Task); a pipeline that does not contain
                             it is then a gate-order finding
      --now TIME             the time used for exception expiry and
                             attestation age, RFC 3339
                             (e.g. 2026-01-31T00:00:00Z); default: now
      --timeout DURATION     give up after this long and exit 2 (default 2m);
                             one registry request, its retries included,
                             gets at most 30s and at most a quarter of it
      --concurrency N        parallel registry verifications (default 8)
      --color WHEN           auto (default: on a terminal, unless NO_COLOR
                             is set), always or never; text output only
      --pipelinerun NAME     verify this PipelineRun from the cluster instead
                             of -f inputs
      --taskrun NAME         verify the PipelineRun this TaskRun belongs to,
                             found through the TaskRun's controller
                             ownerReference (its uid checked); the gate is
                             the pipeline task of that TaskRun (the catalog
                             Task: $(context.taskRun.name)). Refuses to
                             decide when KUBECONFIG (without --kubeconfig),
                             SSL_CERT_FILE, SSL_CERT_DIR, GODEBUG or a
                             COSIGN_*, SIGSTORE_* or TUF_* variable is set
      --namespace NS         namespace of --pipelinerun or --taskrun (default: the
                             namespace of the kubeconfig context, or the
                             pod's namespace in a cluster)
      --kubeconfig FILE      kubeconfig for --pipelinerun, --taskrun and
                             --policy-name
                             (default: in-cluster config, else $KUBECONFIG
                             or ~/.kube/config)
      --results-dir DIR      also write the Tekton results verdict,
                             violations, report and verified-images as files
                             in DIR (an existing directory; /tekton/results
                             in a Task), whatever the verdict; see Results
      --vsa-key FILE         after a pass, sign a verification summary
                             (https://slsa.dev/verification_summary/v1) of
                             each verified image with this cosign private key
                             (password in COSIGN_PASSWORD) or PKCS #8 PEM key
                             and attach it to the image; failing to is exit 2
      --vsa-layout LAYOUT    classic (the .att tag), bundle (a Sigstore
                             bundle referrer) or both (default)
      --tuf-cache-dir DIR    where the TUF metadata of Sigstore trust roots
                             is kept between runs (rollback protection)
                             (default: the user cache directory,
                             security-gate/tuf)
      --sigstore-tuf-mirror URL
                             read the public Sigstore instance's TUF
                             repository from this mirror (trust still comes
                             from the root embedded in security-gate), for
                             keyless authorities without a root of their own
      --sigstore-tuf-root FILE
                             the mirror is another Sigstore deployment: its
                             initial root.json
  -h, --help                 show this help

Flags that name something (--pipelinerun, --taskrun, --gate-task, --namespace,
--policy, --policy-name, --controller-namespace, --results-dir) may not be
given an empty value: in a Task that means a variable did not expand.

Output (-o):
  text   for people: findings grouped by task, one line each
         ("✗" violation, "!" warning, "?" could not decide), then a
         one-line verdict with counts
  json   exactly one JSON object: {"verdict", "violations", "warnings",
         "errors" (only when something could not be decided), "summary"}
  junit  JUnit XML: a testsuite per check, a testcase per check and subject
  sarif  SARIF 2.1.0, one run, one rule per check id

Results (--results-dir), the same values as the custom task's results:
  verdict          pass, warn, fail or error
  violations       the number of violations, decimal
  report           the findings as compact JSON {"verdict", "violations",
                   "errors", "warnings"}; when they do not fit Tekton's
                   4096-byte termination message, the first ones are kept
                   and "omitted" and "note" say how many are in the step log
  verified-images  JSON array of the images verified, as repo@sha256:<digest>
  Files are mode 0644, written before the report is printed, also on a
  violation or an error (and for a usage error once DIR is known). Failing
  to write them is exit 2.

Examples:
  # Verify a PipelineRun and the Pipeline and Tasks it uses
  security-gate verify --policy policy.yaml -f .tekton/

  # Read objects from stdin and print a JSON report for scripts
  kubectl get pipelinerun release-42 -o yaml | security-gate verify --policy policy.yaml -f - -o json

  # An image a build pushed, on its Chains provenance (spec.provenance), offline
  security-gate verify --policy release.yaml --provenance --image registry.example.com/app@sha256:<digest>

  # Also verify the image a build pushed, reproducibly (arguments are images)
  security-gate verify --policy policy.yaml -f pipeline.yaml --now 2026-01-31T00:00:00Z \
    -- registry.example.com/app@sha256:<digest>

  # SARIF for code-scanning dashboards, JUnit for test reports
  security-gate verify --policy policy.yaml -f .tekton/ -o sarif > security-gate.sarif
  security-gate verify --policy policy.yaml -f .tekton/ -o junit > security-gate.xml

  # Apply a ClusterSecurityGate from the cluster to local files
  security-gate verify --policy-name strict --kubeconfig ~/.kube/config -f .tekton/

  # In a step: verify the PipelineRun this step's TaskRun belongs to with the
  # cluster's policy and write the Task results (what the catalog Task runs)
  security-gate verify --taskrun='$(context.taskRun.name)' --namespace='$(context.taskRun.namespace)' \
    --policy-name=strict --results-dir=/tekton/results \
    -- registry.example.com/app@sha256:<digest>

Exit status:
  0  passed, possibly with warnings (mode Warn reports violations as warnings)
  1  at least one violation (mode Enforce)
  2  could not decide: usage error, invalid or unreadable policy, unreadable
     or invalid input, registry or cluster trouble, timeout, results that
     could not be written. Never 0.
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
	fs.DurationVar(&o.timeout, "timeout", defaults.RunTimeout, "")
	fs.IntVar(&o.concurrency, "concurrency", defaults.Concurrency, "")
	fs.StringVar(&o.color, "color", "auto", "")
	fs.StringVar(&o.pipelineRun, "pipelinerun", "", "")
	fs.StringVar(&o.namespace, "namespace", "", "")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&o.policyName, "policy-name", "", "")
	fs.StringVar(&o.controllerNamespace, "controller-namespace", defaultControllerNamespace, "")
	fs.StringVar(&o.resultsDir, "results-dir", "", "")
	o.vsa.addFlags(fs)
	o.tuf.addFlags(fs)
	fs.StringVar(&o.taskRun, "taskrun", "", "")
	fs.BoolVar(&o.provenance, "provenance", false, "")
	return fs, format, now
}

// splitArgs separates flags (with their values) from positional arguments,
// so that images may come before, between and after flags, and everything
// after "--" is positional. It follows the flag package's own rules: a
// non-boolean flag without "=" takes the next argument as its value,
// whatever it looks like. Unknown flags are left for Parse to report.
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(positional, args[i+1:]...)
		case len(a) < 2 || a[0] != '-':
			positional = append(positional, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return flags, positional
}

// emptyFlags are the flags that must not be given an empty value: each is
// a name or path the command needs, and an empty one in the catalog Task
// means a variable did not expand (e.g. the TaskRun is not part of a
// PipelineRun), which must not quietly mean "the default".
var emptyFlags = []struct{ name, msg string }{
	{"pipelinerun", "--pipelinerun is empty: name the PipelineRun to verify (the catalog Task takes it from the pod's tekton.dev/pipelineRun label: is this TaskRun part of a PipelineRun?)"},
	{"gate-task", "--gate-task is empty: name the pipeline task that is the gate (the catalog Task takes it from the pod's tekton.dev/pipelineTask label)"},
	{"namespace", "--namespace is empty: name the namespace of the PipelineRun, or leave the flag out"},
	{"policy", `--policy is empty: give a policy file, or "-" for stdin`},
	{"policy-name", "--policy-name is empty: name the ClusterSecurityGate to apply"},
	{"controller-namespace", "--controller-namespace is empty: name the namespace of the security-gate controller, where key.secretRef Secrets are read (default security-gate)"},
	{"results-dir", "--results-dir is empty: give the directory to write the results to (/tekton/results in a Task)"},
	{"taskrun", "--taskrun is empty: name the TaskRun this step runs in (the catalog Task passes $(context.taskRun.name))"},
}

// parseVerifyFlags parses and checks the flags of verify. It returns
// flag.ErrHelp for -h/--help and a *usageError for anything wrong; the
// options are returned with a usage error too once the flags parsed, so
// that --results-dir can still say why nothing was verified.
func parseVerifyFlags(args []string) (*verifyOptions, error) {
	o := &verifyOptions{}
	fs, format, now := verifyFlagSet(o)
	flags, positional := splitArgs(fs, args)
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	set, empty := map[string]bool{}, map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		empty[f.Name] = f.Value.String() == ""
	})
	for _, e := range emptyFlags {
		if empty[e.name] {
			return o, &usageError{e.msg}
		}
	}
	return o, o.check(set, positional, *format, *now)
}

// check validates the parsed options; set names the flags given explicitly.
func (o *verifyOptions) check(set map[string]bool, positional []string, format, now string) error {
	// Positional arguments are images, exactly like --image (the catalog
	// Task passes its images array after "--").
	for i, a := range positional {
		switch ext := strings.ToLower(filepath.Ext(a)); {
		case a == "":
			return usagef("argument %d is empty: want an image reference such as registry.example.com/app@sha256:<digest>", i+1)
		case a == "-":
			return usagef(`argument "-": stdin is read with -f - (or --policy -); arguments are image references`)
		case ext == ".yaml" || ext == ".yml" || ext == ".json":
			return usagef("argument %q looks like a file: Tekton objects are given with -f %s; arguments are image references", a, a)
		}
	}
	o.images = append(o.images, positional...)
	f, err := output.ParseFormat(format)
	if err != nil {
		return &usageError{"-o: " + err.Error()}
	}
	o.format = f
	switch {
	case o.policy != "" && o.policyName != "":
		return usagef("--policy and --policy-name are alternatives: give a policy file or the name of a ClusterSecurityGate, not both")
	case o.policy == "" && o.policyName == "":
		return usagef("--policy FILE or --policy-name NAME is required: a SecurityGate or ClusterSecurityGate YAML file, or a ClusterSecurityGate in the cluster")
	}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			return usagef("--now %q: want an RFC 3339 time such as 2026-01-31T00:00:00Z", now)
		}
		o.now = t
	}
	if o.timeout <= 0 {
		return usagef("--timeout %s: want a positive duration such as 5m", o.timeout)
	}
	if o.concurrency < 1 {
		return usagef("--concurrency %d: want at least 1", o.concurrency)
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return usagef("--color %q: want auto, always or never", o.color)
	}
	if err := o.tuf.check(); err != nil {
		return err
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
		return usagef(`stdin ("-") can be read only once: by --policy or by one -f`)
	}
	if set["controller-namespace"] && o.policyName == "" {
		return usagef("--controller-namespace applies only with --policy-name: a --policy file cannot use key.secretRef")
	}
	if o.taskRun != "" {
		return o.checkTaskRunFlags()
	}
	if o.pipelineRun != "" {
		if len(o.files) > 0 {
			return usagef("--pipelinerun reads the run from the cluster: it cannot be combined with -f")
		}
		return nil
	}
	if o.namespace != "" {
		return usagef("--namespace applies only with --pipelinerun or --taskrun")
	}
	if o.kubeconfig != "" && o.policyName == "" {
		return usagef("--kubeconfig applies only with --pipelinerun, --taskrun or --policy-name")
	}
	if len(o.files) == 0 && len(o.images) == 0 {
		return usagef("nothing to verify: give -f FILE|DIR|-, an image (--image REF or an argument) or --pipelinerun NAME")
	}
	if o.provenance && len(o.images) == 0 {
		return usagef("--provenance judges the provenance of images: give them with --image REF or as arguments")
	}
	return nil
}
