//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"testing"
	"time"
)

// envProfile names where TestBench writes the CPU profile of the cold
// verifications (default: the test's temporary directory).
const envProfile = "BENCH_CLI_PROFILE"

// profileLabel marks the goroutines doing what the CLI process does, and
// every goroutine they start (the verifier's workers, the HTTP transport's
// connection goroutines); the registry's server goroutines, started by its
// accept loop, carry no label.
const profileLabel = "side"

// cpuShare is one kind of work and the CPU it took in the profile.
type cpuShare struct {
	kind string
	cpu  time.Duration
}

// coldProfile is where the CPU of a cold verification goes, measured
// in-process: the process start is measured apart (`version`).
type coldProfile struct {
	path     string
	runs     int
	wall     time.Duration // per run
	client   []cpuShare    // the CLI's side, largest first
	clientT  time.Duration // sum of client
	server   time.Duration // the loopback registry (test process)
	runtimeT time.Duration // unlabelled runtime work (background GC), shared by both sides
}

// The kinds of the CLI's own work, first match wins, matched against every
// frame of a sample's stack. Signature checks come before registry reads so
// that an ECDSA verification called while decoding a response counts as a
// signature check.
var cpuKinds = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"signature checks (ECDSA P-256, key parsing)", regexp.MustCompile(`^crypto/ecdsa|^crypto/internal/fips140/(ecdsa|nistec|bigmod)|^crypto/x509\.|^crypto/elliptic|sigstore/sigstore/pkg/(signature|cryptoutils)`)},
	{"registry reads (HTTP client, reading and decoding responses)", regexp.MustCompile(`^net/http\.|^net\.|^internal/poll\.|^syscall\.|go-containerregistry/pkg/v1/remote|security-gate/pkg/oci\.`)},
	{"garbage collection (assists)", regexp.MustCompile(`^runtime\.gcAssist|^runtime\.gcDrain`)},
	{"the rest: policy and Tekton decoding, checks, digests, report", regexp.MustCompile(``)},
}

// profileCold verifies the world runs times in-process as a cold CLI does
// (a new registry client and an empty cache each time) under the CPU
// profiler, and sorts the samples into cpuKinds with `go tool pprof -traces`.
func (w *world) profileCold(t *testing.T, runs int) coldProfile {
	t.Helper()
	path := os.Getenv(envProfile)
	if path == "" {
		path = t.TempDir() + "/cli.cpu.pprof"
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pprof.Do(context.Background(), pprof.Labels(profileLabel, "cli"), func(context.Context) {
		for range runs {
			w.mustPass(t, w.verifyOnce(t, w.newSession(t)))
		}
	})
	wall := time.Since(start)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "pprof", "-traces", path).Output()
	if err != nil {
		t.Fatalf("go tool pprof -traces %s: %v", path, err)
	}
	p, err := classify(out)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p.path, p.runs, p.wall = path, runs, wall/time.Duration(runs)
	return p
}

// classify reads `go tool pprof -traces` output: blocks separated by
// "-----------+---" lines, each with optional "label: value" lines, then
// "<value>   <leaf frame>" and one frame per line up to the root.
func classify(traces []byte) (coldProfile, error) {
	var p coldProfile
	client := map[string]time.Duration{}
	var labelled bool
	var value time.Duration
	var frames []string
	flush := func() {
		if value == 0 {
			return
		}
		switch {
		case labelled:
			for _, k := range cpuKinds {
				if anyFrame(frames, k.re) {
					client[k.kind] += value
					break
				}
			}
		case anyFrame(frames, serverFrame):
			p.server += value
		default:
			p.runtimeT += value
		}
		labelled, value, frames = false, 0, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(traces))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inBlock := false
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "-----------+") {
			flush()
			inBlock = true
			continue
		}
		if !inBlock {
			continue
		}
		fields := strings.Fields(l)
		switch {
		case len(fields) == 0:
		case strings.HasSuffix(fields[0], ":"):
			if strings.TrimSuffix(fields[0], ":") == profileLabel {
				labelled = true
			}
		case value == 0 && len(fields) >= 2:
			d, err := time.ParseDuration(fields[0])
			if err != nil {
				return p, fmt.Errorf("a trace's value %q: %v", fields[0], err)
			}
			value, frames = d, append(frames, fields[1])
		default:
			frames = append(frames, fields[0])
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return p, err
	}
	for _, k := range cpuKinds {
		if client[k.kind] > 0 {
			p.client = append(p.client, cpuShare{k.kind, client[k.kind]})
			p.clientT += client[k.kind]
		}
	}
	sort.SliceStable(p.client, func(i, j int) bool { return p.client[i].cpu > p.client[j].cpu })
	if p.clientT == 0 {
		return p, fmt.Errorf("no sample of the labelled verification (%s) in the profile", profileLabel)
	}
	return p, nil
}

// serverFrame is in every stack of the registry's request handling.
var serverFrame = regexp.MustCompile(`^net/http\.\(\*conn\)\.serve`)

func anyFrame(frames []string, re *regexp.Regexp) bool {
	for _, f := range frames {
		if re.MatchString(f) {
			return true
		}
	}
	return false
}

// TestClassifyTraces: samples of the labelled side are sorted by kind, first
// match wins; unlabelled ones are the registry's (under its HTTP server) or
// the runtime's; a profile without a labelled sample is refused.
func TestClassifyTraces(t *testing.T) {
	const sep = "-----------+-------------------------------------------------------\n"
	header := "File: bench.test\nType: cpu\n"
	traces := header + sep +
		"      side:  cli\n      20ms   crypto/internal/fips140/nistec.p256MulInternal\n             crypto/ecdsa.VerifyASN1\n             net/http.(*persistConn).readLoop\n" + sep +
		"      side:  cli\n      30ms   syscall.Syscall6\n             net/http.(*persistConn).readLoop\n" + sep +
		"      side:  cli\n      10ms   encoding/json.(*decodeState).object\n             github.com/security-gate/security-gate/pkg/gate.(*run).report\n" + sep +
		"      40ms   syscall.Syscall6\n             net/http.(*conn).serve\n" + sep +
		"      50ms   runtime.gcDrain\n             runtime.gcBgMarkWorker\n" + sep
	for _, tc := range []struct {
		name    string
		traces  string
		client  map[string]time.Duration
		server  time.Duration
		runtime time.Duration
		wantErr bool
	}{
		{
			name:   "every side",
			traces: traces,
			client: map[string]time.Duration{
				cpuKinds[0].kind: 20 * time.Millisecond,
				cpuKinds[1].kind: 30 * time.Millisecond,
				cpuKinds[3].kind: 10 * time.Millisecond,
			},
			server:  40 * time.Millisecond,
			runtime: 50 * time.Millisecond,
		},
		{
			name:    "no labelled sample",
			traces:  header + sep + "      40ms   syscall.Syscall6\n             net/http.(*conn).serve\n" + sep,
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := classify([]byte(tc.traces))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("classify: no error, want one (client %v)", p.client)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]time.Duration{}
			for _, k := range p.client {
				got[k.kind] = k.cpu
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.client) || p.server != tc.server || p.runtimeT != tc.runtime {
				t.Errorf("classify: client %v, server %v, runtime %v; want %v, %v, %v", got, p.server, p.runtimeT, tc.client, tc.server, tc.runtime)
			}
			if len(p.client) > 1 && p.client[0].cpu < p.client[1].cpu {
				t.Errorf("client kinds not largest first: %v", p.client)
			}
		})
	}
}
