//go:build e2e

package framework

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one child process of the suite.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu      sync.Mutex
	peakKiB int64 // VmHWM, sampled at stop
}

// startProcess starts bin with args and extra environment, with stdout and
// stderr in dir/<name>.log. The child gets SIGKILL if the test binary dies
// first, so no process outlives the suite even when it is killed.
func startProcess(dir, name string, env []string, bin string, args ...string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID of the process.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// PeakMemoryMiB is the process's peak resident set size (VmHWM) in MiB,
// as last sampled (at Stop, or by SamplePeak).
func (p *Process) PeakMemoryMiB() float64 {
	p.SamplePeak()
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(p.peakKiB) / 1024
}

// SamplePeak records the kernel's high-water mark of the process's RSS.
func (p *Process) SamplePeak() {
	if ok, _ := p.Exited(); ok {
		return
	}
	kib := vmHWM(p.PID())
	p.mu.Lock()
	if kib > p.peakKiB {
		p.peakKiB = kib
	}
	p.mu.Unlock()
}

func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// Stop ends the process: SIGTERM, up to grace to exit, then SIGKILL.
// Only this PID is signalled.
func (p *Process) Stop(grace time.Duration) {
	if ok, _ := p.Exited(); ok {
		return
	}
	p.SamplePeak()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Process) Kill() {
	if ok, _ := p.Exited(); ok {
		return
	}
	p.SamplePeak()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// LogTail returns the last n lines of the process's log, for failure messages.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 { // knative's JSON lines carry whole stack traces
			lines[i] = l[:400] + " …"
		}
	}
	return strings.Join(lines, "\n")
}

// freePorts reserves n distinct free loopback ports. They are released before
// returning, so a rare race with another process is possible; the caller
// notices it as a start-up failure with the port named in the log.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
