package oci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"
)

// pingCache answers go-containerregistry's `GET /v2/` pings from the first
// answer per scheme and host. go-containerregistry pings once per
// repository (each repository gets its own auth transport); the answer (the
// auth challenge) is a property of the registry, so a run over many
// repositories of one registry pings it once. On registries it may reach
// over plain HTTP (loopback, private addresses), go-containerregistry tries
// HTTPS first: the failed TLS attempt is remembered too (for those hosts
// only), so it is not repeated for every repository. Only a 200 or 401 answer and a
// non-transient failure are kept, for pingTTL (a long-lived controller
// notices a registry that changed its authentication); anything else is
// asked again.
type pingCache struct {
	inner http.RoundTripper
	group singleflight.Group

	mu      sync.Mutex
	answers map[string]pingAnswer
}

// pingTTL bounds how long a ping answer is reused; maxPingAnswers bounds how
// many registries are remembered (image references come from pipelines, so
// the set of hosts is not ours to trust).
const (
	pingTTL        = 5 * time.Minute
	maxPingAnswers = 256
)

type pingAnswer struct {
	status int
	header http.Header
	err    error
	at     time.Time
}

func (p *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" {
		return p.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	if a, ok := p.lookup(key); ok {
		return a.response(req)
	}
	// Concurrent first pings of one registry share one request.
	v, err, _ := p.group.Do(key, func() (any, error) {
		resp, err := p.inner.RoundTrip(req)
		if err != nil {
			if req.URL.Scheme == "https" && httpFallback(req.URL.Host) && !IsTransient(err) &&
				!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				p.store(key, pingAnswer{err: err})
			}
			return nil, err
		}
		// The challenge is in the headers; the body is not used.
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		a := pingAnswer{status: resp.StatusCode, header: resp.Header.Clone()}
		if a.status == http.StatusOK || a.status == http.StatusUnauthorized {
			p.store(key, a)
		}
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pingAnswer).response(req)
}

// httpFallback reports whether go-containerregistry also tries plain HTTP
// for host (loopback, localhost, private addresses). Only there is a failed
// HTTPS ping remembered: elsewhere it is the only scheme, and a registry
// whose TLS is fixed must be seen at once.
func httpFallback(host string) bool {
	reg, err := name.NewRegistry(host)
	return err == nil && reg.Scheme() == "http"
}

func (p *pingCache) lookup(key string) (pingAnswer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.answers[key]
	if ok && time.Since(a.at) > pingTTL {
		delete(p.answers, key)
		return pingAnswer{}, false
	}
	return a, ok
}

func (p *pingCache) store(key string, a pingAnswer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a.at = time.Now()
	if p.answers == nil {
		p.answers = map[string]pingAnswer{}
	}
	if len(p.answers) >= maxPingAnswers {
		for k, old := range p.answers {
			if a.at.Sub(old.at) > pingTTL {
				delete(p.answers, k)
			}
		}
		for k := range p.answers {
			if len(p.answers) < maxPingAnswers {
				break
			}
			delete(p.answers, k) // any one: a forgotten answer only costs a ping
		}
	}
	p.answers[key] = a
}

func (a pingAnswer) response(req *http.Request) (*http.Response, error) {
	if a.err != nil {
		return nil, a.err
	}
	return &http.Response{
		Status: http.StatusText(a.status), StatusCode: a.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: a.header.Clone(), Body: io.NopCloser(strings.NewReader("")), Request: req,
	}, nil
}
