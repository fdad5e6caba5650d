package trustroot

import (
	"context"
	"testing"
)

// BenchmarkFirstRefresh is a client's first use: the whole TUF update
// (root walk, timestamp, snapshot, targets, target) from a repository on
// loopback, into an empty cache.
func BenchmarkFirstRefresh(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	for b.Loop() {
		p, err := NewPool(Options{Now: w.clock.Now, PublicRoot: w.repo.InitialRoot(), PublicMirror: w.repo.URL})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Public().TrustedMaterial(ctx); err != nil {
			b.Fatal(err)
		}
		_ = p.Close()
	}
}

// BenchmarkWarm is what every verification pays once the root is there.
func BenchmarkWarm(b *testing.B) {
	w := newWorld(b)
	p, err := NewPool(Options{Now: w.clock.Now, PublicRoot: w.repo.InitialRoot(), PublicMirror: w.repo.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c := p.Public()
	ctx := context.Background()
	if _, err := c.TrustedMaterial(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.TrustedMaterial(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublic is what building a verifier pays to find the public
// instance's client (the controller builds one per verification).
func BenchmarkPublic(b *testing.B) {
	w := newWorld(b)
	p, err := NewPool(Options{Now: w.clock.Now, PublicRoot: w.repo.InitialRoot(), PublicMirror: w.repo.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for b.Loop() {
		_ = p.Public()
	}
}
