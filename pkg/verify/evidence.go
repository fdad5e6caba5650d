package verify

import (
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/oci"

	"github.com/security-gate/security-gate/pkg/gate"
)

// classicEvidence locates a layer of the .att tag: the tag, and the layer's
// digest (the DSSE envelope as stored).
func classicEvidence(m *material, att oci.Signature) gate.Evidence {
	ev := gate.Evidence{URI: m.digest.Context().Tag(fmt.Sprintf("%s-%s.att", m.hash.Algorithm, m.hash.Hex)).String()}
	if h, err := att.Digest(); err == nil {
		ev.Digest = h.String()
	}
	return ev
}

// bundleEvidence locates a Sigstore bundle referrer by its manifest.
func bundleEvidence(m *material, b *sigBundle) gate.Evidence {
	return gate.Evidence{URI: m.digest.Context().Digest(b.ref).String(), Digest: b.ref}
}

// evidenceOf lists where the verified attestations of one rule are.
func evidenceOf(atts []*verifiedAtt) []gate.Evidence {
	out := make([]gate.Evidence, 0, len(atts))
	for _, va := range atts {
		if va.Evidence.Digest != "" {
			out = append(out, va.Evidence)
		}
	}
	return out
}
