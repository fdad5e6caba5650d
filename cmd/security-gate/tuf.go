package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/pkg/version"
)

const tufHelp = `Work with the TUF repositories Sigstore trust roots come from.

Usage:
  security-gate tuf serialize [--mirror URL] [--root FILE] [-o FILE] [--timeout DURATION]

serialize reads a TUF repository as the gate would (every signature,
threshold, version and expiry checked) and writes the files a client needs
to verify its trusted_root.json with no network: base64 of a gzip-compressed
tar, the value of keyless.tuf.repository in a policy. The metadata in it
expires (the public instance's timestamp within days): serialize again and
update the policy before then.

Flags:
      --mirror URL          the repository (default: the public Sigstore
                            instance's)
      --root FILE           its initial root.json, the trust anchor
                            (default: the public instance's root embedded
                            in security-gate); give the same root in the
                            policy's keyless.tuf.root
  -o, --output FILE         write here instead of stdout
      --timeout DURATION    give up after this long (default 2m)
  -h, --help                show this help

Examples:
  # The public instance, for a cluster with no network
  security-gate tuf serialize -o repository.b64

  # A private Sigstore deployment
  security-gate tuf serialize --mirror https://tuf.sigstore.example.com --root root.json

Exit status: 0 written, 2 anything else.
`

// runTUF is the tuf command.
func runTUF(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, tufHelp)
		if len(args) == 0 {
			return exitUndecided
		}
		return exitPass
	}
	if args[0] != "serialize" {
		fmt.Fprintf(stderr, "security-gate tuf: unknown subcommand %q\n\n%s", args[0], tufHelp)
		return exitUndecided
	}
	fs := flag.NewFlagSet("tuf serialize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var mirror, rootFile, out string
	var timeout time.Duration
	fs.StringVar(&mirror, "mirror", "", "")
	fs.StringVar(&rootFile, "root", "", "")
	fs.StringVar(&out, "output", "", "")
	fs.StringVar(&out, "o", "", "")
	fs.DurationVar(&timeout, "timeout", defaults.RunTimeout, "")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, tufHelp)
			return exitPass
		}
		fmt.Fprintf(stderr, "security-gate tuf serialize: %v\n\nRun 'security-gate tuf --help' for usage.\n", err)
		return exitUndecided
	}
	if fs.NArg() > 0 || timeout <= 0 {
		fmt.Fprintf(stderr, "security-gate tuf serialize: unexpected arguments %q or a timeout that is not positive\n", fs.Args())
		return exitUndecided
	}
	s, err := serializeTUF(mirror, rootFile, timeout)
	if err != nil {
		fmt.Fprintf(stderr, "security-gate tuf serialize: %v\n", err)
		return exitUndecided
	}
	if out == "" {
		_, err = fmt.Fprintln(stdout, s)
	} else {
		err = os.WriteFile(out, []byte(s+"\n"), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "security-gate tuf serialize: writing: %v\n", err)
		return exitUndecided
	}
	return exitPass
}

func serializeTUF(mirror, rootFile string, timeout time.Duration) (string, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := trustroot.NewPool(trustroot.Options{Timeout: registryTimeout(timeout), RefreshTimeout: timeout,
		UserAgent: "security-gate/" + version.Get().Version})
	if err != nil {
		return "", err
	}
	defer func() { _ = p.Close() }()
	src := trustroot.Source{Mirror: mirror}
	if rootFile != "" {
		if src.Root, err = os.ReadFile(rootFile); err != nil {
			return "", fmt.Errorf("--root: %w", err)
		}
		if err := trustroot.CheckRoot(src.Root); err != nil {
			return "", fmt.Errorf("--root %s: %w", rootFile, err)
		}
	}
	if src.Mirror == "" {
		src.Mirror = p.PublicMirror()
	}
	files, err := p.Serialize(ctx, src)
	if err != nil {
		return "", err
	}
	return v1alpha1.EncodeTUFRepository(files)
}
