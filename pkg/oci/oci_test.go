package oci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/test/fixture"
)

func guard(timeout time.Duration, retries int, limits Limits) *http.Client {
	return &http.Client{Transport: &guardTransport{inner: SharedTransport(), timeout: timeout, retries: retries,
		backoff: time.Millisecond, limits: limits.withDefaults()}}
}

func TestGuardTransport(t *testing.T) {
	var calls atomic.Int64
	var failFirst atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/v2/flaky/manifests/x":
			if n <= failFirst.Load() {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok"))
		case "/v2/down/manifests/x":
			http.Error(w, "down", http.StatusInternalServerError)
		case "/v2/missing/manifests/x":
			http.Error(w, "nope", http.StatusNotFound)
		case "/v2/big/manifests/x":
			_, _ = w.Write([]byte(strings.Repeat("m", 2048)))
		case "/v2/big/blobs/chunked":
			w.(http.Flusher).Flush() // no Content-Length: the cap applies while reading
			for i := 0; i < 4; i++ {
				_, _ = w.Write([]byte(strings.Repeat("b", 1024)))
				w.(http.Flusher).Flush()
			}
		case "/v2/slow/blobs/x":
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	limits := Limits{Manifest: 1024, Blob: 3000}
	get := func(c *http.Client, path string) ([]byte, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return nil, errors.New(resp.Status)
		}
		return io.ReadAll(resp.Body)
	}

	t.Run("transient failures are retried", func(t *testing.T) {
		calls.Store(0)
		failFirst.Store(2)
		b, err := get(guard(time.Second, 2, limits), "/v2/flaky/manifests/x")
		if err != nil || string(b) != "ok" || calls.Load() != 3 {
			t.Fatalf("got %q, %v after %d calls; want ok after 3", b, err, calls.Load())
		}
	})
	t.Run("retries are bounded, then a TransientError", func(t *testing.T) {
		calls.Store(0)
		_, err := get(guard(time.Second, 3, limits), "/v2/down/manifests/x")
		var te *TransientError
		if !errors.As(err, &te) || te.Attempts != 4 || te.Status != 500 || calls.Load() != 4 || !transient.Is(err) {
			t.Fatalf("got %v after %d calls; want a TransientError after 4", err, calls.Load())
		}
	})
	t.Run("404 is not retried", func(t *testing.T) {
		calls.Store(0)
		_, err := get(guard(time.Second, 3, limits), "/v2/missing/manifests/x")
		if err == nil || calls.Load() != 1 {
			t.Fatalf("got %v after %d calls; want a 404 after 1", err, calls.Load())
		}
	})
	t.Run("POST is not retried", func(t *testing.T) {
		calls.Store(0)
		resp, err := guard(time.Second, 3, limits).Post(srv.URL+"/v2/down/manifests/x", "text/plain", strings.NewReader("x"))
		if err == nil {
			resp.Body.Close()
		}
		if calls.Load() != 1 {
			t.Fatalf("POST sent %d times", calls.Load())
		}
	})
	t.Run("manifest over the cap (Content-Length)", func(t *testing.T) {
		_, err := get(guard(time.Second, 0, limits), "/v2/big/manifests/x")
		if !IsTooLarge(err) || transient.Is(err) {
			t.Fatalf("got %v, want a TooLargeError", err)
		}
	})
	t.Run("blob over the cap (chunked)", func(t *testing.T) {
		_, err := get(guard(time.Second, 0, limits), "/v2/big/blobs/chunked")
		if !IsTooLarge(err) {
			t.Fatalf("got %v, want a TooLargeError", err)
		}
	})
	t.Run("a body that stalls times out", func(t *testing.T) {
		_, err := get(guard(100*time.Millisecond, 0, limits), "/v2/slow/blobs/x")
		if err == nil || !transient.Is(err) {
			t.Fatalf("got %v, want a transient timeout", err)
		}
	})
}

func TestClient(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	d := fixture.PushRandomImage(t, reg.Repo("app/x")+":v1")
	c, err := New(Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg.ResetCounts()
	got, err := c.ResolveDigest(ctx, d.String())
	if err != nil || got.String() != d.String() || reg.Requests() != 0 {
		t.Fatalf("digest reference: %v, %v, %d requests; want itself without requests", got, err, reg.Requests())
	}
	got, err = c.ResolveDigest(ctx, reg.Repo("app/x")+":v1")
	if err != nil || got.String() != d.String() {
		t.Fatalf("tag: %v, %v; want %v", got, err, d)
	}
	if n := reg.PathCounts()["HEAD /v2/app/x/manifests/v1"]; n != 1 {
		t.Fatalf("tag resolved with %d HEADs, want 1", n)
	}
	_, err = c.ResolveDigest(ctx, reg.Repo("app/none")+":v1")
	if !IsNotFound(err) || transient.Is(err) {
		t.Fatalf("missing tag: %v, want not found", err)
	}
	small, err := New(Options{Limits: Limits{Manifest: 64}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Get(ctx, d); !IsTooLarge(err) {
		t.Fatalf("manifest over a 64-byte cap: %v", err)
	}
}

// Transport, for code that calls go-containerregistry itself, marks what
// may go away transient where it arises: a 503 to a write (sent once), a
// connection broken in the middle of a body. Anything else is returned as
// the registry said it.
func TestTransportMarksTransientFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/busy/manifests/x":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case "/v2/denied/manifests/x":
			http.Error(w, "denied", http.StatusForbidden)
		case "/v2/broken/blobs/x":
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: Transport(Options{Transport: srv.Client().Transport, Timeout: 5 * time.Second, Backoff: time.Millisecond})}
	for _, tc := range []struct {
		name, method, path string
		wantStatus         int
		wantTransient      bool
	}{
		{name: "503 to a write", method: http.MethodPut, path: "/v2/busy/manifests/x", wantTransient: true},
		{name: "503 to a read, after its retries", method: http.MethodGet, path: "/v2/busy/manifests/x", wantTransient: true},
		{name: "403 is an answer", method: http.MethodPut, path: "/v2/denied/manifests/x", wantStatus: http.StatusForbidden},
		{name: "connection broken mid-body", method: http.MethodGet, path: "/v2/broken/blobs/x", wantStatus: http.StatusOK, wantTransient: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err == nil {
				defer resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				_, err = io.ReadAll(resp.Body)
			}
			if (err != nil) != tc.wantTransient || transient.Is(err) != tc.wantTransient {
				t.Fatalf("error %v (transient %v), want transient %v", err, transient.Is(err), tc.wantTransient)
			}
		})
	}
}
