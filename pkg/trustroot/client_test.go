package trustroot

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/test/fixture"
)

// The default path (public instance) is the production code pointed at a
// repository on loopback through Options.PublicRoot/PublicMirror.
func TestPublicInstanceFromLoopbackMirror(t *testing.T) {
	w := newWorld(t)
	p := w.pool(t, t.TempDir())
	tm, err := p.Public().TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	sameRoot(t, tm, w.rootJSON)
	reqs := w.repo.Requests()
	for _, path := range []string{"/2.root.json", "/timestamp.json", "/1.snapshot.json", "/1.targets.json"} {
		if reqs[path] != 1 {
			t.Errorf("%s requested %d times, want 1 (requests: %v)", path, reqs[path], reqs)
		}
	}
}

// Every way a root can fail to arrive is an *Error, never a root: the
// unreachable ones are transient (worth a retry), the rejected ones not.
func TestRootThatCannotBeObtained(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(t *testing.T, w *world, o *Options)
		wantTransient bool
		wantIs        error
		wantText      string
	}{
		{name: "mirror answers 500", wantTransient: true, wantText: "500",
			setup: func(t *testing.T, w *world, o *Options) {
				w.repo.SetHook(func(rw http.ResponseWriter, _ *http.Request) bool {
					http.Error(rw, "down", http.StatusInternalServerError)
					return true
				})
			}},
		{name: "mirror stalls", wantTransient: true,
			setup: func(t *testing.T, w *world, o *Options) {
				o.Timeout, o.Wait = 200*time.Millisecond, 100*time.Millisecond
				w.repo.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
					<-r.Context().Done()
					return true
				})
			}},
		{name: "timestamp metadata expired", wantIs: &metadata.ErrExpiredMetadata{}, wantText: "timestamp.json is expired",
			setup: func(t *testing.T, w *world, o *Options) { w.repo.ExpireTimestamp(t, epoch.Add(-time.Hour)) }},
		{name: "initial root of another repository", wantIs: &metadata.ErrUnsignedMetadata{},
			setup: func(t *testing.T, w *world, o *Options) {
				other := fixture.NewTUFRepo(t, w.clock.Now, map[string][]byte{TrustedRootTarget: w.rootJSON})
				o.PublicRoot = other.InitialRoot()
			}},
		{name: "trusted root tampered on the mirror", wantIs: &metadata.ErrLengthOrHashMismatch{},
			setup: func(t *testing.T, w *world, o *Options) {
				files := w.repo.Files()
				for path, b := range files {
					if strings.HasSuffix(path, "."+TrustedRootTarget) {
						files[path] = []byte(strings.Replace(string(b), "\"", "'", 1))
					}
				}
				w.repo.Serve(files)
			}},
		{name: "no trusted root target", wantText: "trusted_root.json not found",
			setup: func(t *testing.T, w *world, o *Options) {
				other := fixture.NewTUFRepo(t, w.clock.Now, map[string][]byte{"other.json": []byte("{}")})
				o.PublicRoot, o.PublicMirror = other.InitialRoot(), other.URL
			}},
		{name: "target is not a trusted root", wantText: "not a Sigstore trusted root",
			setup: func(t *testing.T, w *world, o *Options) {
				w.repo.Publish(t, TrustedRootTarget, []byte(`{"mediaType": 7}`))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			var o Options
			tc.setup(t, w, &o)
			p := w.pool(t, t.TempDir(), func(po *Options) {
				if o.PublicRoot != nil {
					po.PublicRoot = o.PublicRoot
				}
				if o.PublicMirror != "" {
					po.PublicMirror = o.PublicMirror
				}
				if o.Timeout != 0 {
					po.Timeout, po.Wait = o.Timeout, o.Wait
				}
			})
			tm, err := p.Public().TrustedMaterial(ctxT(t))
			if err == nil {
				t.Fatalf("got a trusted root (%T), want an error", tm)
			}
			asError(t, err)
			if transient.Is(err) != tc.wantTransient {
				t.Errorf("transient.Is = %t, want %t: %v", transient.Is(err), tc.wantTransient, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %T", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), "TUF repository") {
				t.Errorf("error %q should name the TUF repository and contain %q", err, tc.wantText)
			}
		})
	}
}

// A repository that serves an older state than a client has seen is
// refused: in the same process, and after a restart that keeps the cache.
func TestRollbackIsRefused(t *testing.T) {
	t.Run("older timestamp and snapshot", func(t *testing.T) {
		w := newWorld(t)
		dir := t.TempDir()
		p := w.pool(t, dir)
		c := p.Public()
		if _, err := c.TrustedMaterial(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		old := w.repo.Files()
		newer := []byte(fixture.NewCA(t).TrustedRootJSON)
		w.repo.Publish(t, TrustedRootTarget, newer)
		if err := c.Refresh(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		w.repo.Serve(old)

		err := c.Refresh(ctxT(t))
		if !errors.Is(err, &metadata.ErrBadVersionNumber{}) {
			t.Fatalf("refresh against the rolled-back repository: %v, want a bad version number", err)
		}
		// The newer root stays in use until it expires.
		tm, err := c.TrustedMaterial(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		sameRoot(t, tm, newer)

		restarted := w.pool(t, dir)
		if _, err := restarted.Public().TrustedMaterial(ctxT(t)); !errors.Is(err, &metadata.ErrBadVersionNumber{}) {
			t.Fatalf("a restarted client accepted the rolled-back repository: %v", err)
		}
	})
	t.Run("older root version after a key rotation", func(t *testing.T) {
		w := newWorld(t)
		dir := t.TempDir()
		if _, err := w.pool(t, dir).Public().TrustedMaterial(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		old := w.repo.Files()
		w.repo.RotateKeys(t)
		if _, err := w.pool(t, dir).Public().TrustedMaterial(ctxT(t)); err != nil {
			t.Fatalf("following the rotation: %v", err)
		}
		// The mirror goes back to version 1 of everything, signed with the
		// keys version 2 revoked.
		w.repo.Serve(old)
		_, err := w.pool(t, dir).Public().TrustedMaterial(ctxT(t))
		if err == nil {
			t.Fatal("a restarted client accepted metadata signed with revoked keys")
		}
		asError(t, err)
	})
}

// A root whose metadata expired is never returned, whatever happened to
// the repository since; a fresh publication brings it back.
func TestExpiredRootIsNotUsed(t *testing.T) {
	w := newWorld(t)
	p := w.pool(t, t.TempDir())
	c := p.Public()
	if _, err := c.TrustedMaterial(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	w.repo.SetHook(func(rw http.ResponseWriter, _ *http.Request) bool {
		http.Error(rw, "down", http.StatusServiceUnavailable)
		return true
	})
	w.clock.Step(fixture.TUFLifetime + time.Minute)
	_, err := c.TrustedMaterial(ctxT(t))
	if asError(t, err); !transient.Is(err) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("expired root with the mirror down: %v, want a transient error naming the 503", err)
	}

	// Back up, but still serving the expired metadata.
	w.repo.SetHook(nil)
	w.clock.Step(DefaultRetryAfter)
	if _, err := c.TrustedMaterial(ctxT(t)); !errors.Is(err, &metadata.ErrExpiredMetadata{}) {
		t.Fatalf("expired metadata on the mirror: %v, want expired", err)
	}

	w.repo.Publish(t, TrustedRootTarget, w.rootJSON)
	w.clock.Step(DefaultRetryAfter)
	tm, err := c.TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatalf("after a fresh publication: %v", err)
	}
	sameRoot(t, tm, w.rootJSON)
}

// A root due for refresh is returned at once while the refresh runs in the
// background, even against a mirror that stalls.
func TestBackgroundRefreshDoesNotBlock(t *testing.T) {
	w := newWorld(t)
	// Wait is long: were TrustedMaterial to wait for the refresh, the
	// context below would end it with an error.
	p := w.pool(t, t.TempDir(), func(o *Options) { o.Wait = time.Hour })
	c := p.Public()
	if _, err := c.TrustedMaterial(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	newer := []byte(fixture.NewCA(t).TrustedRootJSON)
	w.repo.Publish(t, TrustedRootTarget, newer)
	release := make(chan struct{})
	var once sync.Once
	stalled := make(chan struct{})
	w.repo.SetHook(func(_ http.ResponseWriter, _ *http.Request) bool {
		once.Do(func() { close(stalled) })
		<-release
		return false
	})
	w.clock.Step(DefaultRefreshInterval)

	tm, err := c.TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatalf("a root due for refresh was not returned: %v", err)
	}
	sameRoot(t, tm, w.rootJSON)
	<-stalled // the background refresh did start
	close(release)
	if err := c.Refresh(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	tm, err = c.TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	sameRoot(t, tm, newer)
}

// A repository that rotates its TUF keys (root version 2) and publishes a
// new trusted root: clients follow from their old root and from the
// initial one.
func TestKeyRotationIsFollowed(t *testing.T) {
	w := newWorld(t)
	c := w.pool(t, t.TempDir()).Public()
	if _, err := c.TrustedMaterial(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	w.repo.RotateKeys(t)
	newer := []byte(fixture.NewCA(t).TrustedRootJSON)
	w.repo.Publish(t, TrustedRootTarget, newer)
	if err := c.Refresh(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	tm, err := c.TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	sameRoot(t, tm, newer)
	if w.repo.Requests()["/2.root.json"] == 0 {
		t.Error("the client never read root version 2")
	}
	fresh, err := w.pool(t, t.TempDir()).Public().TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatalf("a new client from the initial root: %v", err)
	}
	sameRoot(t, fresh, newer)
}

// A serialized repository is read with the same TUF rules and no network.
func TestSerializedRepository(t *testing.T) {
	w := newWorld(t)
	w.repo.RotateKeys(t)
	p := w.pool(t, t.TempDir())
	files, err := p.Serialize(ctxT(t), Source{Mirror: w.repo.URL, Root: w.repo.InitialRoot()})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2.root.json", "timestamp.json", "2.snapshot.json", "2.targets.json"} {
		if files[want] == nil {
			t.Errorf("serialized repository lacks %s: has %d files", want, len(files))
		}
	}
	w.repo.Server.Close()

	c, err := p.Client(Source{Files: files, Root: w.repo.InitialRoot()})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := c.TrustedMaterial(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	sameRoot(t, tm, w.rootJSON)

	w.clock.Step(fixture.TUFLifetime + time.Minute)
	expired, err := w.pool(t, t.TempDir()).Client(Source{Files: files, Root: w.repo.InitialRoot()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := expired.TrustedMaterial(ctxT(t)); !errors.Is(err, &metadata.ErrExpiredMetadata{}) {
		t.Fatalf("an expired serialized repository: %v, want expired", err)
	}
}

// One client per root, shared: concurrent first uses make one refresh.
func TestOneClientPerRoot(t *testing.T) {
	w := newWorld(t)
	p := w.pool(t, t.TempDir())
	a, err := p.Client(Source{Mirror: w.repo.URL, Root: w.repo.InitialRoot()})
	if err != nil {
		t.Fatal(err)
	}
	if a != p.Public() {
		t.Fatal("the public instance's source gave another client")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.TrustedMaterial(ctxT(t))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.repo.Requests()["/timestamp.json"]; n != 1 {
		t.Fatalf("timestamp.json requested %d times for 8 concurrent first uses, want 1", n)
	}
	other, err := p.Client(Source{Mirror: w.repo.URL + "/", Root: fixture.NewTUFRepo(t, w.clock.Now, nil).InitialRoot()})
	if err != nil {
		t.Fatal(err)
	}
	if other == a {
		t.Fatal("another initial root shares the client")
	}
}

// The pool keeps at most MaxClients roots, dropping the least recently used.
func TestPoolIsBounded(t *testing.T) {
	w := newWorld(t)
	p := w.pool(t, t.TempDir(), func(o *Options) { o.MaxClients = 2 })
	roots := make([][]byte, 3)
	for i := range roots {
		roots[i] = fixture.NewTUFRepo(t, w.clock.Now, nil).InitialRoot()
	}
	get := func(i int) *Client {
		c, err := p.Client(Source{Mirror: w.repo.URL, Root: roots[i]})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := get(0)
	w.clock.Step(time.Second)
	second := get(1)
	w.clock.Step(time.Second)
	get(2)
	if get(1) != second {
		t.Error("a recently used client was dropped")
	}
	if get(0) == first {
		t.Error("the least recently used client was kept beyond MaxClients")
	}
}
