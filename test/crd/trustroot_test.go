package crd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// keylessTrust is a keyless authority whose keyless block also holds %s
// (trustedRoot, tuf, requireSignedTimestamp).
const keylessTrust = "  authorities: [{name: a, keyless: {issuer: i, subject: s, %s}}]\n  images: {authorities: [a]}\n"

const tufRoot = `'{"signed": {"_type": "root", "version": 1}, "signatures": []}'`

// invalidTrust are keyless trust sources both the CRD and Validate reject.
var invalidTrust = []struct {
	name    string
	spec    string
	goWant  string
	crdWant string
}{
	{"trustedRoot and tuf", fmt.Sprintf(keylessTrust, "trustedRoot: {data: '{}'}, tuf: {mirror: 'https://tuf.example.com'}"),
		"spec.authorities[0].keyless.trustedRoot, spec.authorities[0].keyless.tuf", "spec.authorities[0].keyless: Invalid value: at most one of trustedRoot and tuf"},
	{"tuf with neither mirror nor repository", fmt.Sprintf(keylessTrust, "tuf: {root: "+tufRoot+"}"),
		"spec.authorities[0].keyless.tuf.mirror, spec.authorities[0].keyless.tuf.repository", "spec.authorities[0].keyless.tuf: Invalid value: exactly one of mirror and repository"},
	{"tuf with mirror and repository", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'https://tuf.example.com', repository: H4sIAAAAAAAA}"),
		"spec.authorities[0].keyless.tuf.mirror, spec.authorities[0].keyless.tuf.repository", "exactly one of mirror and repository"},
	{"tuf mirror that is not http", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'file:///var/tuf'}"),
		"spec.authorities[0].keyless.tuf.mirror", "spec.authorities[0].keyless.tuf.mirror: Invalid value: \"file:///var/tuf\": an http or https URL"},
	{"tuf root that is not a JSON object", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'https://tuf.example.com', root: root.json}"),
		"spec.authorities[0].keyless.tuf.root", "spec.authorities[0].keyless.tuf.root: Invalid value: \"root.json\": a TUF root.json document"},
	{"tuf unknown field", fmt.Sprintf(keylessTrust, "tuf: {url: 'https://tuf.example.com'}"),
		"unknown field: spec.authorities[0].keyless.tuf.url", "spec.authorities[0].keyless.tuf.url: Invalid value: null: unknown field"},
	{"requireSignedTimestamp that is not a boolean", fmt.Sprintf(keylessTrust, "requireSignedTimestamp: always"),
		"keyless.requireSignedTimestamp of type bool", "spec.authorities[0].keyless.requireSignedTimestamp: Invalid value"},
}

func TestInvalidTrustSourcesAreRejectedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range invalidTrust {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				rejectedByBoth(t, c, doc, tt.goWant, tt.crdWant)
			})
		}
	}
}

// goOnlyTrust is what the schema cannot check (URL parts, the content of a
// root.json or of a serialized repository): only Validate rejects it, and the
// controller and the CLI run it on every policy.
var goOnlyTrust = []struct{ name, spec, goWant string }{
	{"tuf mirror with credentials", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'https://user:secret@tuf.example.com'}"), "spec.authorities[0].keyless.tuf.mirror"},
	{"tuf mirror without a host", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'https://'}"), "spec.authorities[0].keyless.tuf.mirror"},
	{"tuf root that is a trusted_root.json", fmt.Sprintf(keylessTrust, `tuf: {mirror: 'https://tuf.example.com', root: '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}'}`), "spec.authorities[0].keyless.tuf.root"},
	{"tuf repository that is not base64", fmt.Sprintf(keylessTrust, "tuf: {repository: 'not base64!'}"), "spec.authorities[0].keyless.tuf.repository"},
	{"tuf repository that is not a tar.gz", fmt.Sprintf(keylessTrust, "tuf: {repository: aGVsbG8=}"), "spec.authorities[0].keyless.tuf.repository"},
}

func TestTrustSchemaGapsAreCoveredByValidate(t *testing.T) {
	c := loadCRD(t, crdFiles[v1alpha1.KindClusterSecurityGate])
	for _, tt := range goOnlyTrust {
		t.Run(tt.name, func(t *testing.T) {
			doc := document(t, v1alpha1.KindClusterSecurityGate, tt.spec)
			if _, err := v1alpha1.ParsePolicy(doc); err == nil || !strings.Contains(err.Error(), tt.goWant) {
				t.Errorf("Go validation: got %v, want an error containing %q", err, tt.goWant)
			}
			if errs := c.validate(toMap(t, doc)); len(errs) > 0 {
				t.Errorf("the CRD now rejects this (%v): move the case to invalidTrust", errs.ToAggregate())
			}
		})
	}
}

func TestValidTrustSourcesAreAcceptedByBoth(t *testing.T) {
	repo, err := v1alpha1.EncodeTUFRepository(map[string][]byte{"timestamp.json": []byte("{}"), "1.snapshot.json": []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	valid := []struct{ name, spec string }{
		{"public instance", fmt.Sprintf(keylessTrust, "requireSignedTimestamp: true")},
		{"mirror with its root", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'https://tuf.example.com/prod', root: "+tufRoot+"}")},
		{"mirror of the public instance", fmt.Sprintf(keylessTrust, "tuf: {mirror: 'http://tuf-mirror.sigstore-system.svc.cluster.local'}")},
		{"serialized repository", fmt.Sprintf(keylessTrust, "tuf: {repository: '"+repo+"', root: "+tufRoot+"}, requireSignedTimestamp: true")},
	}
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range valid {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				acceptedByBoth(t, c, doc)
			})
		}
	}
}
