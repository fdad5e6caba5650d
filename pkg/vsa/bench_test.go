package vsa

import (
	"context"
	"crypto/elliptic"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/security-gate/security-gate/test/fixture"
)

// BenchmarkAttach measures signing and attaching one summary in both
// layouts to an image in a loopback registry (replacing the previous one).
func BenchmarkAttach(b *testing.B) {
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.SkipPassword)
	if err != nil {
		b.Fatal(err)
	}
	s, err := LoadSigner(priv, nil)
	if err != nil {
		b.Fatal(err)
	}
	reg := fixture.NewRegistry(b, true)
	d := fixture.PushRandomImage(b, reg.Repo("bench/app:v1"))
	st, err := Build(d.String(), buildPolicy, "", "bench", at, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := writer(s, LayoutClassic, LayoutBundle)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Attach(context.Background(), d, st); err != nil {
			b.Fatal(err)
		}
	}
}
