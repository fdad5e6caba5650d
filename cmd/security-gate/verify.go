package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/manifest"
	"github.com/security-gate/security-gate/pkg/output"
	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/pkg/verify"
	"github.com/security-gate/security-gate/pkg/version"
)

func runVerify(args []string, stdin io.Reader, stdout, stderr io.Writer, e env) int {
	o, err := parseVerifyFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, verifyHelp)
		return exitPass
	}
	if err != nil {
		fmt.Fprintf(stderr, "security-gate verify: %v\n\nRun 'security-gate verify --help' for usage.\n", err)
		if o != nil && o.resultsDir != "" {
			// The pipeline reads the results, not this log: say there why
			// nothing was verified.
			rep := undecided(gate.Finding{Check: gate.CheckInput, Subject: gate.TextSubject("security-gate verify"), Message: "usage: " + err.Error()})
			if werr := writeResults(o.resultsDir, rep, stderr); werr != nil {
				fmt.Fprintf(stderr, "security-gate verify: %v\n", werr)
			}
		}
		return exitUndecided
	}
	if o.resultsDir != "" {
		// Fail before minutes of verification whose results could not be
		// delivered.
		if err := checkResultsDir(o.resultsDir); err != nil {
			fmt.Fprintf(stderr, "security-gate verify: %v\n", err)
			return exitUndecided
		}
	}

	// Ctrl-C and SIGTERM cancel the verification; what was not finished is
	// reported as undecided (exit 2), never as a pass.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	report, docs := verifyRun(ctx, o, stdin, e)
	verdict := output.Verdict(report)
	code := exitCode(verdict)

	// Results first: whatever the verdict, the pipeline sees why.
	if o.resultsDir != "" {
		if err := writeResults(o.resultsDir, report, stderr); err != nil {
			fmt.Fprintf(stderr, "security-gate verify: %v\n", err)
			code = exitUndecided
		}
	}
	opts := output.Options{Color: useColor(o.color, stdout), ToolVersion: version.String(), Locate: locator(docs, o.policy)}
	if err := output.Write(stdout, o.format, report, opts); err != nil {
		fmt.Fprintf(stderr, "security-gate verify: writing the %s report: %v\n", o.format, err)
		return exitUndecided
	}
	if len(report.Errors) > 0 && o.format != output.FormatText {
		// Machine formats go to stdout; say what could not be decided where
		// a person reading the CI log will look (beside a violation too:
		// the verdict is fail, and these are still open).
		for _, f := range report.Errors {
			fmt.Fprintf(stderr, "security-gate verify: could not decide: [%s] %s\n", f.Check, oneLine(subjectMessage(f)))
		}
	}
	return code
}

// exitCode maps a verdict to the exit status contract.
func exitCode(v gate.Verdict) int {
	switch v {
	case gate.VerdictPass, gate.VerdictWarn:
		return exitPass
	case gate.VerdictFail:
		return exitViolation
	default:
		return exitUndecided
	}
}

// verifyRun produces the report for o. Every early failure (policy, input,
// cluster) becomes a report with VerdictError, so each output format still
// carries exactly one document saying what could not be decided and where.
// It also returns the documents it read, for the report's file locations.
func verifyRun(ctx context.Context, o *verifyOptions, stdin io.Reader, e env) (*gate.Report, []manifest.Document) {
	var docs []manifest.Document
	report := verifyDocs(ctx, o, stdin, e, &docs)
	return report, docs
}

// verifyDocs is verifyRun's body; it records the documents it read in docs.
func verifyDocs(ctx context.Context, o *verifyOptions, stdin io.Reader, e env, docs *[]manifest.Document) *gate.Report {
	cluster := &lazyCluster{connect: e.connect, kubeconfig: o.kubeconfig}
	// The -f inputs are read and decoded while the policy is parsed and the
	// verifier built: in a new process decoding the Tekton types is among
	// the costliest steps before the first registry request, and it needs
	// nothing from the policy. Only when the policy does not come from
	// stdin, which the inputs may also name; the policy's findings still
	// come first, the inputs' are looked at only after it is usable.
	var inputs <-chan loaded
	if o.policyName == "" && o.policy != "-" && o.pipelineRun == "" && o.taskRun == "" {
		inputs = startInputs(ctx, o.files, stdin)
	}
	var policy *v1alpha1.Policy
	var keys verify.SecretKeysFunc
	var fails []gate.Finding
	if o.policyName != "" {
		if policy, keys, fails = loadClusterPolicy(ctx, o, cluster); len(fails) > 0 {
			return undecided(fails...)
		}
	} else {
		var policyStdin bool
		if policy, policyStdin, fails = loadPolicy(o.policy, stdin); len(fails) > 0 {
			return undecided(fails...)
		}
		if fe := policy.Spec.ValidateNoSecretRefs(); fe != nil {
			return undecided(policyFindings(gate.TextSubject(o.policy), &v1alpha1.InvalidPolicyError{Policy: policy.String(),
				Reason: "secretRef needs a cluster (apply the policy and use --policy-name)", Fields: fe.ViaField("spec")})...)
		}
		if policyStdin {
			stdin = strings.NewReader("")
		}
	}
	spec := &policy.Spec
	if fails := checkProvenanceFlag(o, policy); len(fails) > 0 { // provenance.go
		return undecided(fails...)
	}
	summaries, err := o.vsa.writer(registryTimeout(o.timeout)) // vsa.go: --vsa-key, before anything is verified
	if err != nil {
		return undecided(gate.Finding{Check: gate.CheckInput, Subject: gate.TextSubject("security-gate verify"), Message: "usage: " + err.Error()})
	}

	now := time.Now
	if !o.now.IsZero() {
		fixed := o.now
		now = func() time.Time { return fixed }
	}

	verifier, err := newVerifier(ctx, spec, o, now, keys)
	if err != nil {
		return undecided(policyFindings(gate.TextSubject(policySubject(o)), fmt.Errorf("%s cannot be used: %w", policy, err))...)
	}

	var in gate.Input
	var resolver gate.Resolver
	var traceTask string // the gate whose images param is traced (--taskrun)
	if o.pipelineRun != "" {
		in, resolver, fails = loadPipelineRun(ctx, o, cluster)
		if len(fails) > 0 {
			return undecided(fails...)
		}
	} else if o.taskRun != "" {
		// The gate task is the one running this TaskRun (taskrun.go).
		in, resolver, o.gateTask, fails = loadTaskRun(ctx, o, cluster)
		if len(fails) > 0 {
			return undecided(fails...)
		}
		traceTask = o.gateTask
	} else {
		var read []manifest.Document
		if inputs != nil {
			l := <-inputs
			read, fails = l.docs, l.fails
		} else {
			read, fails = loadInputs(ctx, o.files, stdin)
		}
		if len(fails) > 0 {
			return undecided(fails...)
		}
		*docs = read
		objs := manifest.Objects(read)
		in = gate.Input{Objects: objs, Images: o.images}
		if resolver, err = newFileResolver(objs, verifier); err != nil {
			return undecided(gate.Finding{Check: gate.CheckInput, Subject: gate.TextSubject(joinPaths(o.files)), Message: err.Error()})
		}
	}

	// The images of a live run are traced to the TaskRuns that built them,
	// after Chains is done with those (provenance.go).
	if fails := addBuilds(ctx, o, cluster, spec, &in, traceTask); len(fails) > 0 {
		return undecided(fails...)
	}

	engine := gate.New(gate.Options{
		Resolver:    resolver,
		Verifier:    verifier,
		Now:         now,
		GateTask:    o.gateTask,
		Concurrency: o.concurrency,
		// Naming the gate task claims the pipeline has one: a pipeline
		// without it must not pass the gate-order check silently.
		RequireGate: o.gateTask != "",
	})
	report := engine.Verify(ctx, spec, in)
	if report == nil {
		report = undecided(gate.Finding{Check: gate.CheckInput, Message: "the engine returned no report"})
	}
	summarize(ctx, summaries, policy, report, now) // vsa.go: only after a pass
	if err := ctx.Err(); err != nil && len(report.Errors) == 0 {
		// The engine should have said so; fail closed if it did not.
		report.Errors = append(report.Errors, timeoutFinding(o, err))
		report.Verdict = gate.Decide(report)
	}
	return report
}

// undecided is a report that could not reach a verdict.
func undecided(fs ...gate.Finding) *gate.Report {
	for i := range fs {
		fs[i].Severity = gate.SeverityError
	}
	return &gate.Report{Verdict: gate.VerdictError, Violations: []gate.Finding{}, Warnings: []gate.Finding{}, Errors: fs}
}

func timeoutFinding(o *verifyOptions, err error) gate.Finding {
	msg := fmt.Sprintf("verification interrupted: %v", err)
	if errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("verification did not finish within --timeout %s", o.timeout)
	}
	return gate.Finding{Check: gate.CheckRegistry, Subject: gate.TextSubject("verification"), Message: msg, Severity: gate.SeverityError, Transient: transient.Is(err)}
}

// policyFindings are the findings of a policy that cannot be used: one per
// problem of an invalid policy (v1alpha1.InvalidPolicyError lists them with
// their field paths), so every output format shows each on its own; else
// one, transient when the error may go away.
func policyFindings(subject gate.Subject, err error) []gate.Finding {
	var invalid *v1alpha1.InvalidPolicyError
	if errors.As(err, &invalid) {
		var out []gate.Finding
		for _, m := range invalid.Problems() {
			out = append(out, gate.Finding{Check: gate.CheckPolicy, Subject: subject, Message: m, Severity: gate.SeverityError})
		}
		return out
	}
	return []gate.Finding{{Check: gate.CheckPolicy, Subject: subject, Message: err.Error(), Severity: gate.SeverityError, Transient: transient.Is(err)}}
}

// loadPolicy reads and parses --policy. It reports whether it consumed stdin.
func loadPolicy(path string, stdin io.Reader) (*v1alpha1.Policy, bool, []gate.Finding) {
	var data []byte
	var err error
	fromStdin := path == "-"
	if fromStdin {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fromStdin, []gate.Finding{{Check: gate.CheckPolicy, Subject: gate.TextSubject(path), Message: fmt.Sprintf("cannot read the policy: %v", err)}}
	}
	p, err := v1alpha1.ParsePolicy(data)
	if err != nil {
		return nil, fromStdin, policyFindings(gate.TextSubject(path), err)
	}
	return p, fromStdin, nil
}

// useColor decides whether text output is coloured, for stdout.
func useColor(mode string, stdout io.Writer) bool {
	f, ok := stdout.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	return colorWanted(mode, tty, os.Getenv("NO_COLOR"), os.Getenv("TERM"))
}

// colorWanted: --color always/never win; auto colours a terminal unless
// NO_COLOR is set to anything non-empty (no-color.org) or TERM is "dumb".
func colorWanted(mode string, tty bool, noColor, termEnv string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return tty && noColor == "" && termEnv != "dumb"
}

func subjectMessage(f gate.Finding) string {
	if f.Subject.IsZero() {
		return f.Message
	}
	return f.Subject.String() + ": " + f.Message
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }
