package oci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/cache"
	"github.com/security-gate/security-gate/pkg/transient"
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
	inner   http.RoundTripper
	answers *cache.Cache[pingAnswer]
}

// pingTTL bounds how long a ping answer is reused; maxPingAnswers bounds how
// many registries are remembered (image references come from pipelines, so
// the set of hosts is not ours to trust).
const (
	pingTTL        = 5 * time.Minute
	maxPingAnswers = 256
)

func newPingCache(inner http.RoundTripper) *pingCache {
	return &pingCache{inner: inner, answers: cache.New[pingAnswer](maxPingAnswers, pingTTL, nil)}
}

type pingAnswer struct {
	status int
	header http.Header
	err    error
	// keep: the answer is a property of the registry, reused for pingTTL.
	keep bool
}

func (p *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" {
		return p.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	// Concurrent first pings of one registry share one request.
	a, err := p.answers.Do(req.Context(), key, func(context.Context) (pingAnswer, error) {
		resp, err := p.inner.RoundTrip(req)
		if err != nil {
			if req.URL.Scheme == "https" && httpFallback(req.URL.Host) && !transient.Is(err) &&
				!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return pingAnswer{err: err, keep: true}, nil
			}
			return pingAnswer{}, err
		}
		// The challenge is in the headers; the body is not used.
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		ok := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
		return pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), keep: ok}, nil
	}, func(a pingAnswer) bool { return a.keep })
	if err != nil {
		return nil, err
	}
	return a.response(req)
}

// httpFallback reports whether go-containerregistry also tries plain HTTP
// for host (loopback, localhost, private addresses). Only there is a failed
// HTTPS ping remembered: elsewhere it is the only scheme, and a registry
// whose TLS is fixed must be seen at once.
func httpFallback(host string) bool {
	reg, err := name.NewRegistry(host)
	return err == nil && reg.Scheme() == "http"
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
