package crd

import (
	"fmt"
	"testing"
)

// provenancePolicy defines an authority that signs images and bundles, and
// puts %s as spec.provenance.
const provenancePolicy = signer + "  bundles: {authorities: [a]}\n  provenance: %s\n"

// invalidProvenance are policies both the CRD and Validate must reject (the
// fields of spec.provenance).
var invalidProvenance = []struct {
	name    string
	spec    string
	goWant  string
	crdWant string
}{
	{"without builderIDs", fmt.Sprintf(provenancePolicy, "{}"), "spec.provenance.builderIDs", "spec.provenance.builderIDs: Required value"},
	{"with an empty builderIDs list", fmt.Sprintf(provenancePolicy, "{builderIDs: []}"), "spec.provenance.builderIDs", "spec.provenance.builderIDs: Invalid value"},
	{"with an empty builder id", fmt.Sprintf(provenancePolicy, "{builderIDs: ['']}"), "spec.provenance.builderIDs[0]", "spec.provenance.builderIDs[0]: Invalid value"},
	{"unknown runBinding", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], runBinding: Strict}"), "spec.provenance.runBinding", "spec.provenance.runBinding: Unsupported value"},
	{"unknown trustedCode", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], trustedCode: required}"), "spec.provenance.trustedCode", "spec.provenance.trustedCode: Unsupported value"},
	{"unknown authority", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], authorities: [chains]}"), "spec.provenance.authorities[0]", "provenance.authorities: every name must be defined in spec.authorities"},
	{"no authority may sign it", "  authorities: [{name: a, keyless: {issuer: i, subject: s}}]\n  bundles: {authorities: [a]}\n  provenance: {builderIDs: [b]}\n",
		"spec.provenance.authorities", "provenance: no authority may sign the provenance"},
	{"trusted code without bundle authorities", signer + "  provenance: {builderIDs: [b]}\n", "spec.provenance.trustedCode", "provenance.trustedCode: Required verifies the build task's bundle against bundles.authorities"},
	{"unknown field", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], builderId: b}"), "unknown field: spec.provenance.builderId", "spec.provenance.builderId: Invalid value: null: unknown field"},
	{"empty source", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], source: {}}"), "spec.provenance.source.repository, spec.provenance.source.repositoryRegExp", "spec.provenance.source: Invalid value: set repository, repositoryRegExp, revision or revisionRegExp"},
	{"source repository and repositoryRegExp", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], source: {repository: r, repositoryRegExp: r}}"), "spec.provenance.source.repository, spec.provenance.source.repositoryRegExp", "spec.provenance.source: Invalid value: at most one of repository and repositoryRegExp"},
	{"source revision and revisionRegExp", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], source: {revision: r, revisionRegExp: r}}"), "spec.provenance.source.revision, spec.provenance.source.revisionRegExp", "spec.provenance.source: Invalid value: at most one of revision and revisionRegExp"},
	{"bad repositoryRegExp", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], source: {repositoryRegExp: 'https://github.com/(acme'}}"), "spec.provenance.source.repositoryRegExp", "spec.provenance.source.repositoryRegExp: Invalid value"},
	{"bad revisionRegExp", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], source: {revisionRegExp: '[0-9a-f'}}"), "spec.provenance.source.revisionRegExp", "spec.provenance.source.revisionRegExp: Invalid value"},
}

func TestInvalidProvenancePoliciesAreRejectedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range invalidProvenance {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				rejectedByBoth(t, c, doc, tt.goWant, tt.crdWant)
			})
		}
	}
}

var validProvenance = []struct{ name, spec string }{
	{"defaults", fmt.Sprintf(provenancePolicy, "{builderIDs: ['https://tekton.dev/chains/v2']}")},
	{"every field", "  authorities: [{name: a, keyless: {issuer: i, subject: s}}, {name: chains, keyless: {issuer: i, subject: c}}]\n  bundles: {authorities: [a]}\n" +
		"  provenance:\n    authorities: [chains]\n    builderIDs: ['https://tekton.dev/chains/v2', 'https://builder.example.com']\n    runBinding: Required\n    trustedCode: Required\n" +
		"    source: {repositoryRegExp: 'https://github\\.com/acme/.+', revision: 0123456789abcdef0123456789abcdef01234567}\n"},
	{"rules off, no bundle authorities", signer + "  provenance: {builderIDs: [b], runBinding: 'Off', trustedCode: 'Off', source: {repository: 'https://github.com/acme/app'}}\n"},
	{"source revision pattern only", fmt.Sprintf(provenancePolicy, "{builderIDs: [b], source: {revisionRegExp: '[0-9a-f]{40}'}}")},
}

func TestValidProvenancePoliciesAreAcceptedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range validProvenance {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				p := acceptedByBoth(t, c, doc)
				if p.Spec.Provenance.RunBinding == "" || p.Spec.Provenance.TrustedCode == "" {
					t.Errorf("rules left unset after defaulting: %+v", p.Spec.Provenance)
				}
			})
		}
	}
}
