package oci

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/test/fixture"
)

// TestPingOncePerRegistry: reading from many repositories of one registry
// pings it once (go-containerregistry pings per repository), and a registry
// whose pings fail is asked again on the next read, never answered from a
// failure that may go away.
func TestPingOncePerRegistry(t *testing.T) {
	reg := fixture.NewRegistry(t, true)
	var refs []name.Digest
	for i := 0; i < 5; i++ {
		refs = append(refs, fixture.PushRandomImage(t, fmt.Sprintf("%s/ping/r%d:v1", reg.Host, i)))
	}
	tests := []struct {
		name      string
		hook      func(w http.ResponseWriter, r *http.Request) bool
		wantPings int
		wantErr   bool
	}{
		{"healthy registry: one ping for five repositories", nil, 1, false},
		// 503 is retried by the guard (1+1 attempts) and never stored: each
		// repository pings again.
		{"failing pings are not remembered", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/v2/" {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg.SetHook(tt.hook)
			defer reg.SetHook(nil)
			c, err := New(Options{Retries: 1, Backoff: 1})
			if err != nil {
				t.Fatal(err)
			}
			reg.ResetCounts()
			for _, d := range refs {
				_, err := c.Get(context.Background(), d)
				if (err != nil) != tt.wantErr {
					t.Fatalf("Get %s: err %v, want error %v", d, err, tt.wantErr)
				}
			}
			if got := reg.PathCounts()["GET /v2/"]; got != tt.wantPings {
				t.Errorf("%d pings of %s, want %d", got, reg.Host, tt.wantPings)
			}
		})
	}
}
