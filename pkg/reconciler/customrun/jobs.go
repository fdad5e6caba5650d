package customrun

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/security-gate/security-gate/pkg/gate"
)

// jobKey identifies one verification of one attempt of one CustomRun. The
// attempt (len(retriesStatus)) is part of it so a retry never picks up the
// previous attempt's result.
type jobKey struct {
	UID     types.UID
	Attempt int
}

// job is one verification running in its own goroutine.
type job struct {
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
	// Set before done is closed; read only after.
	report   *gate.Report
	duration time.Duration
	finished time.Time
}

func (j *job) finishedYet() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// jobs holds the verifications in flight and, per CustomRun, when the next
// attempt may start after a transient error. State is in memory on purpose:
// after a restart (or a change of leader) the run simply verifies again,
// which yields the same single outcome because nothing is recorded on the
// CustomRun until a verification has finished.
type jobs struct {
	// clock is the reconciler's: durations and sweeps are judged on it.
	clock    clock.PassiveClock
	mu       sync.Mutex
	running  map[jobKey]*job
	retryAt  map[types.UID]time.Time
	failures map[types.UID]int
}

func newJobs(clk clock.PassiveClock) *jobs {
	return &jobs{clock: clk, running: map[jobKey]*job{}, retryAt: map[types.UID]time.Time{}, failures: map[types.UID]int{}}
}

// get returns the job for key, or nil.
func (js *jobs) get(key jobKey) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.running[key]
}

// start runs fn in a goroutine under ctx (which carries the attempt's
// deadline) and calls onDone when it returns.
func (js *jobs) start(ctx context.Context, key jobKey, now time.Time, fn func(context.Context) *gate.Report, onDone func()) *job {
	ctx, cancel := context.WithCancel(ctx)
	j := &job{cancel: cancel, done: make(chan struct{}), started: now}
	js.mu.Lock()
	js.sweepLocked(now)
	js.running[key] = j
	js.mu.Unlock()
	go func() {
		defer cancel()
		t0 := js.clock.Now()
		rep := fn(ctx)
		j.report, j.duration, j.finished = rep, js.clock.Since(t0), js.clock.Now()
		close(j.done)
		if onDone != nil {
			onDone()
		}
	}()
	return j
}

// drop cancels and forgets the job of key (its result was consumed, or the
// attempt ended).
func (js *jobs) drop(key jobKey) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.running[key]; j != nil {
		j.cancel()
		delete(js.running, key)
	}
}

// forget cancels every job of a CustomRun and drops its backoff state.
func (js *jobs) forget(uid types.UID) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for k, j := range js.running {
		if k.UID == uid {
			j.cancel()
			delete(js.running, k)
		}
	}
	delete(js.retryAt, uid)
	delete(js.failures, uid)
}

// backoff records a transient failure and returns when the next try may
// start: 1s, 2s, 4s, … capped at max.
func (js *jobs) backoff(uid types.UID, now time.Time, max time.Duration) time.Time {
	js.mu.Lock()
	defer js.mu.Unlock()
	n := js.failures[uid]
	js.failures[uid] = n + 1
	d := time.Second << min(n, 16)
	if d > max {
		d = max
	}
	js.retryAt[uid] = now.Add(d)
	return js.retryAt[uid]
}

// notBefore returns when the next try may start (zero: now).
func (js *jobs) notBefore(uid types.UID) time.Time {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.retryAt[uid]
}

// failureCount is the number of transient failures seen for uid.
func (js *jobs) failureCount(uid types.UID) int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.failures[uid]
}

// staleAfter is how long a finished, never-consumed result is kept: its
// CustomRun was deleted, or another replica took it over.
const staleAfter = time.Hour

func (js *jobs) sweepLocked(now time.Time) {
	for k, j := range js.running {
		if j.finishedYet() && now.Sub(j.started) > staleAfter {
			delete(js.running, k)
			delete(js.retryAt, k.UID)
			delete(js.failures, k.UID)
		}
	}
}
