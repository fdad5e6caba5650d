package cache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)

func TestBoundsAndExpiry(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(epoch)
	c := New[string](2, time.Minute, clk)
	ctx := context.Background()
	calls := 0
	get := func(key string) {
		t.Helper()
		v, err := c.Do(ctx, key, func(context.Context) (string, error) {
			calls++
			return "value of " + key, nil
		}, nil)
		if err != nil || v != "value of "+key {
			t.Fatalf("Do(%q) = %q, %v", key, v, err)
		}
	}
	steps := []struct {
		what      string
		key       string
		advance   time.Duration
		wantCalls int
	}{
		{"first a", "a", 0, 1},
		{"first b", "b", 0, 2},
		{"a again: a hit, b is now least recently used", "a", 0, 2},
		{"c evicts b", "c", 0, 3},
		{"b was evicted", "b", 0, 4},
		{"still fresh at the ttl", "b", time.Minute, 4},
		{"expired past the ttl", "b", time.Second, 5},
	}
	for _, s := range steps {
		clk.SetTime(clk.Now().Add(s.advance))
		get(s.key)
		if calls != s.wantCalls {
			t.Fatalf("%s: %d computations, want %d", s.what, calls, s.wantCalls)
		}
	}
	// a and c expired with the clock; b was stored again.
	if st := c.Stats(); st.Entries != 1 || st.Hits != 2 || st.Misses != 5 {
		t.Errorf("stats %+v, want 1 entry, 2 hits, 5 misses", st)
	}
	c.Purge()
	if st := c.Stats(); st.Entries != 0 {
		t.Errorf("after Purge: %d entries", st.Entries)
	}
}

func TestOnlyKeptValuesAreStored(t *testing.T) {
	errDown := errors.New("registry down")
	tests := []struct {
		name     string
		value    int
		err      error
		keep     func(int) bool
		wantKept bool
	}{
		{name: "a value, no predicate", value: 1, wantKept: true},
		{name: "a value the predicate keeps", value: 2, keep: func(v int) bool { return v > 0 }, wantKept: true},
		{name: "a value the predicate refuses", value: -1, keep: func(v int) bool { return v > 0 }},
		{name: "an error", value: 3, err: errDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[int](4, time.Hour, nil)
			v, err := c.Do(context.Background(), "k", func(context.Context) (int, error) { return tt.value, tt.err }, tt.keep)
			if !errors.Is(err, tt.err) || v != tt.value {
				t.Fatalf("Do = %d, %v; want %d, %v", v, err, tt.value, tt.err)
			}
			if _, kept := c.Get("k"); kept != tt.wantKept {
				t.Errorf("kept = %v, want %v", kept, tt.wantKept)
			}
		})
	}
}

// TestConcurrentCallersShareOneComputation holds the computation until
// every caller has asked.
func TestConcurrentCallersShareOneComputation(t *testing.T) {
	c := New[string](4, time.Hour, nil)
	const callers = 8
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	var wg sync.WaitGroup
	results := make(chan string, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _ := c.Do(context.Background(), "k", func(context.Context) (string, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				<-release
				return "v", nil
			}, nil)
			results <- v
		}()
	}
	// Every caller but the one computing waits in the flight (Misses
	// counts them as they arrive); then let the computation finish.
	for c.misses.Load() < callers {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != "v" {
			t.Errorf("a caller got %q", v)
		}
	}
	if calls != 1 {
		t.Errorf("%d computations for %d concurrent callers, want 1", calls, callers)
	}
}

// TestSharedCancellationIsNoAnswer: a caller whose shared computation
// failed only because the computing caller's context ended computes again.
// Whether the second caller joins the flight before the first gives up is
// up to the scheduler, so the scenario is repeated until it did.
func TestSharedCancellationIsNoAnswer(t *testing.T) {
	for attempt := range 50 {
		c := New[string](4, time.Hour, nil)
		got, err := sharedCancellation(c)
		if c.shared.Load() == 0 {
			continue // the second caller came after the flight: try again
		}
		if err != nil || got != "own" {
			t.Fatalf("attempt %d: the caller that shared a cancelled computation got %q, %v; want its own computation", attempt, got, err)
		}
		return
	}
	t.Fatal("the second caller never joined the first one's computation")
}

func sharedCancellation(c *Cache[string]) (string, error) {
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	defer cancelLeader()
	started := make(chan struct{})
	go func() {
		_, _ = c.Do(leaderCtx, "k", func(ctx context.Context) (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		}, nil)
	}()
	<-started
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := c.Do(context.Background(), "k", func(context.Context) (string, error) { return "own", nil }, nil)
		done <- result{v, err}
	}()
	for c.misses.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // let it reach the flight
	cancelLeader()
	r := <-done
	return r.v, r.err
}
