package vex

import (
	"fmt"
	"testing"
)

// BenchmarkDecide measures deciding one finding against a document of 500
// statements about the image (the cost VEX adds per finding of a scan).
func BenchmarkDecide(b *testing.B) {
	var sts []string
	for i := 0; i < 500; i++ {
		sts = append(sts, stmt(fmt.Sprintf("CVE-2026-%04d", i), digestA, "not_affected", justified))
	}
	d, err := Parse(doc(t1, sts...), Source{})
	if err != nil {
		b.Fatal(err)
	}
	s := NewSet(d)
	f := Finding{ID: "CVE-2026-0499", Aliases: []string{"GHSA-x"}, PURL: "pkg:golang/x@v1"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := s.Decide(img, f); !ok {
			b.Fatal("no decision")
		}
	}
}
