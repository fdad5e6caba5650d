package trustroot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/security-gate/security-gate/test/fixture"
)

// epoch is the tests' clock start; TUF metadata expiry is set from the same
// clock, so no test depends on the wall clock.
var epoch = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// world is a trusted root published through a TUF repository on loopback.
type world struct {
	clock *clocktesting.FakeClock
	repo  *fixture.TUFRepo
	// rootJSON is the published trusted_root.json.
	rootJSON []byte
}

func newWorld(t testing.TB) *world {
	t.Helper()
	clk := clocktesting.NewFakeClock(epoch)
	tr := []byte(fixture.NewCA(t).TrustedRootJSON)
	return &world{clock: clk, rootJSON: tr, repo: fixture.NewTUFRepo(t, clk.Now, map[string][]byte{TrustedRootTarget: tr})}
}

// pool builds a pool whose public instance is the world's repository.
func (w *world) pool(t *testing.T, cacheDir string, mod ...func(*Options)) *Pool {
	t.Helper()
	o := Options{
		CacheDir:     cacheDir,
		Timeout:      5 * time.Second,
		Now:          w.clock.Now,
		PublicRoot:   w.repo.InitialRoot(),
		PublicMirror: w.repo.URL,
	}
	for _, m := range mod {
		m(&o)
	}
	p, err := NewPool(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sameRoot fails unless tm is the trusted root want (compared by its JSON).
func sameRoot(t *testing.T, tm root.TrustedMaterial, want []byte) {
	t.Helper()
	tr, ok := tm.(*root.TrustedRoot)
	if !ok {
		t.Fatalf("trusted material is %T, want *root.TrustedRoot", tm)
	}
	got, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	wantTR, err := root.NewTrustedRootFromJSON(want)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := wantTR.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(wantJSON) {
		t.Fatalf("got another trusted root than the one published")
	}
}

// asError fails unless err is a *Error, and returns it.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *trustroot.Error", err, err)
	}
	return e
}
