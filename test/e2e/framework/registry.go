//go:build e2e

package framework

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
)

// RegistryMode is how the loopback registry answers.
type RegistryMode int

const (
	// RegistryUp serves normally.
	RegistryUp RegistryMode = iota
	// RegistryStalled holds every request open until the mode changes or the
	// client gives up: a registry that hangs.
	RegistryStalled
	// RegistryDown answers every request with 503.
	RegistryDown
)

// Registry is an in-process OCI registry (with the referrers API) on a
// loopback port. Tekton, go-containerregistry and cosign talk plain HTTP to
// 127.0.0.1 without configuration. Faults can be injected per repository so
// that, say, the gate's image checks stall while Tekton's bundle resolution
// still works.
type Registry struct {
	Host string // 127.0.0.1:PORT

	srv *http.Server

	mu      sync.Mutex
	faults  map[string]*fault // by path substring, e.g. "/v2/ns/compiler/"
	changed chan struct{}     // closed when any fault changes
}

type fault struct {
	mode RegistryMode
	hits int
}

// StartRegistry serves a fresh registry on a free loopback port.
func StartRegistry() (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: l.Addr().String(), faults: map[string]*fault{}, changed: make(chan struct{})}
	inner := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for {
			mode, changed := r.match(req.URL.Path)
			switch mode {
			case RegistryStalled:
				select {
				case <-changed:
					continue // re-evaluate under the new faults
				case <-req.Context().Done():
					return
				}
			case RegistryDown:
				http.Error(w, "registry down (e2e fault injection)", http.StatusServiceUnavailable)
				return
			}
			inner.ServeHTTP(w, req)
			return
		}
	})}
	go func() {
		if err := r.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("e2e registry: %v", err)
		}
	}()
	return r, nil
}

func (r *Registry) match(path string) (RegistryMode, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sub, f := range r.faults {
		if strings.Contains(path, sub) && f.mode != RegistryUp {
			f.hits++
			return f.mode, r.changed
		}
	}
	return RegistryUp, r.changed
}

// SetFault makes requests whose path contains sub (e.g. "/v2/ns/repo/")
// stall or fail; RegistryUp removes the fault and releases stalled requests.
func (r *Registry) SetFault(sub string, m RegistryMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == RegistryUp {
		delete(r.faults, sub)
	} else if f, ok := r.faults[sub]; ok {
		f.mode = m
	} else {
		r.faults[sub] = &fault{mode: m}
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// FaultHits is how many requests the fault on sub has stalled or failed.
func (r *Registry) FaultHits(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.faults[sub]; ok {
		return f.hits
	}
	return 0
}

// Close stops serving.
func (r *Registry) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = r.srv.Shutdown(ctx)
	_ = r.srv.Close()
}

// StartRegistry is Env's registry, stopped with the Env.
func (e *Env) StartRegistry() error {
	return e.timed("registry", func() (err error) {
		e.Registry, err = StartRegistry()
		return err
	})
}
