package v1alpha1

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProvenanceDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   *ProvenancePolicy
		want *ProvenancePolicy
	}{
		{"no provenance stays none", nil, nil},
		{"every rule on", &ProvenancePolicy{BuilderIDs: []string{"b"}},
			&ProvenancePolicy{BuilderIDs: []string{"b"}, RunBinding: ProvenanceRequired, TrustedCode: ProvenanceRequired}},
		{"Off is kept", &ProvenancePolicy{BuilderIDs: []string{"b"}, RunBinding: ProvenanceOff, TrustedCode: ProvenanceOff},
			&ProvenancePolicy{BuilderIDs: []string{"b"}, RunBinding: ProvenanceOff, TrustedCode: ProvenanceOff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &SecurityGateSpec{Provenance: tt.in}
			s.SetDefaults(context.Background())
			if d := cmp.Diff(tt.want, s.Provenance); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestProvenanceAuthorities(t *testing.T) {
	s := &SecurityGateSpec{Images: &ImagePolicy{Authorities: []string{"images"}}}
	if got := s.ProvenanceAuthorities(); got != nil {
		t.Errorf("no provenance rules: %v, want none", got)
	}
	s.Provenance = &ProvenancePolicy{}
	if got := s.ProvenanceAuthorities(); !slices.Equal(got, []string{"images"}) {
		t.Errorf("falls back to images.authorities: got %v", got)
	}
	s.Provenance.Authorities = []string{"chains"}
	if got := s.ProvenanceAuthorities(); !slices.Equal(got, []string{"chains"}) {
		t.Errorf("own authorities: got %v", got)
	}
}
