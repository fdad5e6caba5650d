package trustroot

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	sgtuf "github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/security-gate/security-gate/pkg/defaults"
)

// Defaults of Options.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultRefreshTimeout  = 2 * time.Minute
	DefaultRefreshInterval = time.Hour
	DefaultRetryAfter      = 10 * time.Second
	DefaultMaxClients      = 64
)

// Options configure a Pool. Zero values select the defaults.
type Options struct {
	// CacheDir holds one TUF cache per root. Empty: a private temporary
	// directory, removed by Close (rollback protection then lasts as long
	// as the process).
	CacheDir string
	// Timeout bounds one HTTP request to a repository.
	Timeout time.Duration
	// RefreshTimeout bounds one whole refresh (root walk, metadata, target).
	RefreshTimeout time.Duration
	// Wait bounds how long TrustedMaterial waits when there is no usable
	// root (default Timeout): a verdict never waits longer for a root.
	Wait time.Duration
	// RefreshInterval is the age at which a root is refreshed in the
	// background.
	RefreshInterval time.Duration
	// RetryAfter is how long a failed refresh is the answer before the
	// repository is asked again.
	RetryAfter time.Duration
	// MaxClients bounds the distinct roots kept; the least recently used
	// one is dropped beyond it.
	MaxClients int
	// Now is the clock (default time.Now); also TUF's reference time.
	Now func() time.Time
	// PublicRoot and PublicMirror define the public Sigstore instance:
	// default sigstore-go's embedded root.json and its repository. Tests
	// point them at a repository on loopback, so the default path is the
	// tested path.
	PublicRoot   []byte
	PublicMirror string
	// Transport carries repository requests (default: a clone of
	// http.DefaultTransport, honouring the proxy environment).
	Transport http.RoundTripper
	// UserAgent is sent with repository requests.
	UserAgent string
	// Log receives refresh outcomes (default: discarded).
	Log func(msg string, keysAndValues ...any)
}

// Pool is the set of trust roots a process uses: one Client per root,
// shared by every verification.
type Pool struct {
	opts    Options
	http    *http.Client
	ctx     context.Context
	cancel  context.CancelFunc
	tempDir bool

	mu      sync.Mutex
	clients map[string]*Client
}

// NewPool checks the options and prepares the cache directory.
func NewPool(o Options) (*Pool, error) {
	o.Timeout = defaults.Positive(o.Timeout, DefaultTimeout)
	o.RefreshTimeout = defaults.Positive(o.RefreshTimeout, DefaultRefreshTimeout)
	o.Wait = defaults.Positive(o.Wait, o.Timeout)
	o.RefreshInterval = defaults.Positive(o.RefreshInterval, DefaultRefreshInterval)
	o.RetryAfter = defaults.Positive(o.RetryAfter, DefaultRetryAfter)
	o.MaxClients = defaults.Positive(o.MaxClients, DefaultMaxClients)
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.PublicRoot) == 0 {
		o.PublicRoot = sgtuf.DefaultRoot()
	}
	if o.PublicMirror == "" {
		o.PublicMirror = sgtuf.DefaultMirror
	}
	if err := CheckMirrorURL(o.PublicMirror); err != nil {
		return nil, fmt.Errorf("public Sigstore instance: %w", err)
	}
	if err := CheckRoot(o.PublicRoot); err != nil {
		return nil, fmt.Errorf("public Sigstore instance: %w", err)
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	p := &Pool{opts: o, clients: map[string]*Client{}}
	if p.opts.CacheDir == "" {
		dir, err := os.MkdirTemp("", "security-gate-tuf-")
		if err != nil {
			return nil, fmt.Errorf("TUF cache: %w", err)
		}
		p.opts.CacheDir, p.tempDir = dir, true
	} else if err := os.MkdirAll(p.opts.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("TUF cache directory %s: %w", p.opts.CacheDir, err)
	}
	p.http = &http.Client{Timeout: o.Timeout, Transport: o.Transport}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

// Close stops refreshes in flight and removes a temporary cache.
func (p *Pool) Close() error {
	p.cancel()
	if p.tempDir {
		return os.RemoveAll(p.opts.CacheDir)
	}
	return nil
}

// PublicMirror is the public instance's repository URL.
func (p *Pool) PublicMirror() string { return p.opts.PublicMirror }

// Public returns the client of the public Sigstore instance.
func (p *Pool) Public() *Client {
	c, err := p.Client(Source{Mirror: p.opts.PublicMirror, Root: p.opts.PublicRoot})
	if err != nil {
		// NewPool checked both; nothing else can fail.
		panic(err)
	}
	return c
}

// Client returns the shared client of src, creating it on first use. An
// empty src.Root means the public root (a mirror of the public instance).
func (p *Pool) Client(src Source) (*Client, error) {
	if len(src.Root) == 0 {
		src.Root = p.opts.PublicRoot
	}
	// A source is checked once, when its client is made: the key fixes its
	// bytes, and checking a root verifies its signatures, which a
	// controller would otherwise repeat for every verification.
	key := src.key()
	p.mu.Lock()
	c, ok := p.clients[key]
	p.mu.Unlock()
	if ok {
		return c, nil
	}
	if err := src.check(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[key]; ok {
		return c, nil
	}
	if len(p.clients) >= p.opts.MaxClients {
		p.evictLocked()
	}
	c = &Client{pool: p, src: src, anchor: src.Root, dir: filepath.Join(p.opts.CacheDir, src.cacheName()), lastUsed: p.now()}
	p.clients[key] = c
	return c, nil
}

// evictLocked drops the least recently used client; a refresh it has in
// flight finishes unobserved.
func (p *Pool) evictLocked() {
	var oldest string
	var at time.Time
	for k, c := range p.clients {
		c.mu.Lock()
		used := c.lastUsed
		c.mu.Unlock()
		if oldest == "" || used.Before(at) {
			oldest, at = k, used
		}
	}
	delete(p.clients, oldest)
}

func (p *Pool) now() time.Time { return p.opts.Now() }

func (p *Pool) log(msg string, kv ...any) {
	if p.opts.Log != nil {
		p.opts.Log(msg, kv...)
	}
}
