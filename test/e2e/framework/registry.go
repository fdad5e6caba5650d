//go:build e2e

package framework

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
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
// 127.0.0.1 without configuration.
type Registry struct {
	Host string // 127.0.0.1:PORT

	srv *http.Server

	mu      sync.Mutex
	mode    RegistryMode
	changed chan struct{} // closed when the mode changes
}

// StartRegistry serves a fresh registry on a free loopback port.
func StartRegistry() (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: l.Addr().String(), changed: make(chan struct{})}
	inner := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		mode, changed := r.mode, r.changed
		r.mu.Unlock()
		switch mode {
		case RegistryStalled:
			select {
			case <-changed:
			case <-req.Context().Done():
				return
			}
		case RegistryDown:
			http.Error(w, "registry down (e2e fault injection)", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, req)
	})}
	go func() {
		if err := r.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("e2e registry: %v", err)
		}
	}()
	return r, nil
}

// SetMode switches how the registry answers; stalled requests resume (and
// are then served according to the new mode's predecessor rules: normally).
func (r *Registry) SetMode(m RegistryMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = m
	close(r.changed)
	r.changed = make(chan struct{})
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
