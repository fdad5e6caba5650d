package oci

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/test/fixture"
)

// TestRequestBudget: all attempts of one request share one budget, and the
// caller's deadline bounds it, so a stalled registry is one timeout long and
// retries never multiply it. Assertions are on the error kind and on how
// often the server was asked, never on elapsed time.
func TestRequestBudget(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/v2/stall/manifests/x":
			<-r.Context().Done()
		case "/v2/busy/manifests/x":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	tests := []struct {
		name    string
		path    string
		timeout time.Duration
		backoff time.Duration
		// deadline is the caller's; 0: a generous one that only bounds a
		// broken implementation.
		deadline     time.Duration
		wantAttempts int    // of a TransientError; 0: want the caller's deadline error
		wantText     string // in the error
	}{{
		name: "a stalled request is not asked again: one timeout, one attempt",
		path: "/v2/stall/manifests/x", timeout: 200 * time.Millisecond, backoff: time.Millisecond,
		wantAttempts: 1, wantText: "failed after 1 attempt: registry request timed out (budget 200ms",
	}, {
		name: "a retry whose backoff the budget cannot hold is not started",
		path: "/v2/busy/manifests/x", timeout: 10 * time.Second, backoff: time.Hour,
		wantAttempts: 1, wantText: "503 Service Unavailable to GET",
	}, {
		name: "a retry whose backoff the caller's deadline cannot hold is not started",
		path: "/v2/busy/manifests/x", timeout: time.Hour, backoff: time.Hour, deadline: 10 * time.Second,
		wantAttempts: 1, wantText: "after 1 attempt",
	}, {
		name: "retries that fit the budget still happen",
		path: "/v2/busy/manifests/x", timeout: 10 * time.Second, backoff: time.Millisecond,
		wantAttempts: 4, wantText: "after 4 attempts",
	}, {
		name: "the caller's deadline ends a stall before the request budget does",
		path: "/v2/stall/manifests/x", timeout: time.Hour, backoff: time.Millisecond, deadline: 200 * time.Millisecond,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			deadline := tt.deadline
			if deadline == 0 {
				deadline = 30 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			c := &http.Client{Transport: &guardTransport{inner: SharedTransport(), timeout: tt.timeout, retries: 3,
				backoff: tt.backoff, limits: Limits{}.withDefaults()}}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatalf("got %s, want an error", resp.Status)
			}
			if tt.wantAttempts == 0 {
				if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() == nil {
					t.Fatalf("got %v, want the caller's deadline", err)
				}
				if calls.Load() != 1 {
					t.Fatalf("the server was asked %d times, want once", calls.Load())
				}
				return
			}
			var te *TransientError
			if !errors.As(err, &te) || !transient.Is(err) {
				t.Fatalf("got %v (caller's context: %v), want a TransientError", err, ctx.Err())
			}
			if te.Attempts != tt.wantAttempts || calls.Load() != int64(tt.wantAttempts) {
				t.Fatalf("%d attempts, the server asked %d times; want %d: %v", te.Attempts, calls.Load(), tt.wantAttempts, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}

// TestClientStalledRegistry: through the whole client (ping, auth, manifest)
// a registry that accepts connections and never answers costs one request
// budget and one request, then "could not decide" (transient).
func TestClientStalledRegistry(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	d := fixture.PushRandomImage(t, reg.Repo("app/stalled")+":v1")
	reg.SetHook(func(w http.ResponseWriter, req *http.Request) bool {
		<-req.Context().Done()
		return true
	})
	reg.ResetCounts()
	c, err := New(Options{Timeout: 300 * time.Millisecond, Retries: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.Get(ctx, d)
	var te *TransientError
	if !errors.As(err, &te) || !transient.Is(err) || ctx.Err() != nil {
		t.Fatalf("got %v (context: %v), want a TransientError before the caller's deadline", err, ctx.Err())
	}
	if te.Attempts != 1 || reg.Requests() != 1 {
		t.Fatalf("%d attempts, %d requests (%v); want the stalled request sent once", te.Attempts, reg.Requests(), reg.PathCounts())
	}
}
