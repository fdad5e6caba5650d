//go:build bench

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment of TestServeWorld.
const (
	envServeDir    = "BENCH_SERVE_DIR"    // write the world's files here and serve its registry
	envServeImages = "BENCH_SERVE_IMAGES" // images in the world, default 40
	envServeFor    = "BENCH_SERVE_FOR"    // how long to serve, default 10m (a Go duration)
)

// TestServeWorld keeps one benchmark world up for profiling the CLI as a
// process (perf, GODEBUG=inittrace=1, a cpuprofile build): it writes the
// policy, the PipelineRun, the key and run.sh (the CLI command of (a), in
// the sealed environment) into BENCH_SERVE_DIR, serves the registry until
// the file "stop" appears there or BENCH_SERVE_FOR passes, and counts the
// registry requests it saw. Skipped unless BENCH_SERVE_DIR is set.
//
//	BENCH_SERVE_DIR=/tmp/w go test -tags bench -run '^TestServeWorld$' -timeout 0 ./test/bench &
//	/tmp/w/run.sh ./security-gate    # once ready exists
func TestServeWorld(t *testing.T) {
	dir := os.Getenv(envServeDir)
	if dir == "" {
		t.Skip(envServeDir + " is not set")
	}
	n := envInt(t, envServeImages, numImages)
	if n%numTasks != 0 {
		t.Fatalf("%s=%d: want a multiple of %d", envServeImages, n, numTasks)
	}
	serveFor := 10 * time.Minute
	if s := os.Getenv(envServeFor); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s=%q: %v", envServeFor, s, err)
		}
		serveFor = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, n)
	env := sealedEnv(t)
	var script strings.Builder
	script.WriteString("#!/bin/sh\n# Runs the security-gate binary given as $1 as (a) does; more arguments are\n# passed on. Registry: " + w.reg.Host + "\nbin=\"$1\"; shift\n")
	script.WriteString("cd " + w.dir + " && exec env -i")
	for _, kv := range env {
		script.WriteString(" '" + kv + "'")
	}
	script.WriteString(" \"$bin\"")
	for _, a := range w.cliArgs(w.policyPath) {
		script.WriteString(" '" + a + "'")
	}
	script.WriteString(" \"$@\"\n")
	write := func(name string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("run.sh", []byte(script.String()), 0o755)
	for _, f := range []string{w.policyPath, w.runPath, w.keyPath} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Base(f), data, 0o644)
	}
	w.reg.ResetCounts()
	write("ready", []byte(w.reg.Host+"\n"), 0o644)
	t.Logf("serving %d images at %s; files in %s; touch %s to stop", n, w.reg.Host, dir, filepath.Join(dir, "stop"))

	deadline := time.Now().Add(serveFor)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	counts := w.reg.PathCounts()
	var kinds = map[string]int{}
	for k, v := range counts {
		kinds[requestKind(k)] += v
	}
	t.Logf("registry requests served: %d in all, by kind: %v", w.reg.Requests(), kinds)
	fmt.Fprintf(os.Stderr, "requests by kind: %v\n", kinds)
}

// requestKind reduces "METHOD /v2/repo/manifests/ref" to "METHOD manifests
// (.sig)" and the like, for a count per kind of request.
func requestKind(methodPath string) string {
	method, path, _ := strings.Cut(methodPath, " ")
	parts := strings.Split(path, "/")
	switch {
	case path == "/v2/":
		return method + " ping"
	case len(parts) >= 2 && parts[len(parts)-2] == "manifests":
		ref := parts[len(parts)-1]
		switch {
		case strings.HasSuffix(ref, ".sig"):
			return method + " manifest .sig"
		case strings.HasSuffix(ref, ".att"):
			return method + " manifest .att"
		}
		return method + " manifest"
	case len(parts) >= 2 && parts[len(parts)-2] == "blobs":
		return method + " blob"
	case len(parts) >= 2 && parts[len(parts)-2] == "referrers":
		return method + " referrers"
	}
	return method + " other"
}
