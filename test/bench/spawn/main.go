//go:build bench

// Command spawn runs one command and writes how it ran (wall time, exit
// status, peak RSS, CPU time) as JSON to the file named by -o. stdin, stdout
// and stderr pass through.
//
// It exists because Go starts children with vfork: on exec, Linux folds the
// parent's peak RSS into the child's ru_maxrss, so a child started by a big
// test process reports the test's peak, not its own. Started from this
// small process instead, the child's ru_maxrss is its own (as with GNU
// time).
//
//	spawn -o result.json -- security-gate verify ...
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Result is the JSON written to -o.
type Result struct {
	WallNS   int64 `json:"wallNs"`
	Exit     int   `json:"exit"`
	MaxRSSKB int64 `json:"maxRssKiB"`
	UserNS   int64 `json:"userNs"`
	SysNS    int64 `json:"sysNs"`
}

func main() {
	out := flag.String("o", "", "write the result here (required)")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: spawn -o FILE -- COMMAND [ARG...]")
		os.Exit(125)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintf(os.Stderr, "spawn: %v\n", err)
		os.Exit(125)
	}
	res := Result{WallNS: wall.Nanoseconds(), Exit: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKB = ru.Maxrss // KiB on Linux
		res.UserNS = ru.Utime.Nano()
		res.SysNS = ru.Stime.Nano()
	}
	b, err := json.Marshal(res)
	if err == nil {
		err = os.WriteFile(*out, b, 0o600)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "spawn: %v\n", err)
		os.Exit(125)
	}
}
