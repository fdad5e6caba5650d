package crd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/examples"
	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

var crdFiles = map[string]string{
	v1alpha1.KindSecurityGate:        "300-securitygate.yaml",
	v1alpha1.KindClusterSecurityGate: "300-clustersecuritygate.yaml",
}

func publicKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// document wraps a spec (YAML, indented two spaces under spec:) in a policy
// of the given kind. $KEY becomes a real PEM public key, indented for a
// literal block.
func document(t testing.TB, kind, spec string) []byte {
	t.Helper()
	key := strings.ReplaceAll(strings.TrimSpace(publicKeyPEM(t)), "\n", "\n          ")
	spec = strings.ReplaceAll(spec, "$KEY", key)
	meta := "metadata:\n  name: p\n"
	if kind == v1alpha1.KindSecurityGate {
		meta += "  namespace: team\n"
	}
	return []byte("apiVersion: securitygate.dev/v1alpha1\nkind: " + kind + "\n" + meta + "spec:\n" + spec)
}

func toMap(t testing.TB, doc []byte) map[string]any {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		t.Fatalf("test document is not YAML: %v\n%s", err, doc)
	}
	return obj
}

func TestCRDsAreAcceptableToTheAPIServer(t *testing.T) {
	for kind, file := range crdFiles {
		t.Run(kind, func(t *testing.T) {
			c := loadCRD(t, file)
			if errs := c.validateCRD(); len(errs) > 0 {
				t.Fatalf("the API server would reject %s: %v", file, errs.ToAggregate())
			}
			want := map[string]any{
				"group": "securitygate.dev", "kind": kind, "version": "v1alpha1",
				"served": true, "storage": true, "categories": []string{"tekton", "security-gate"},
			}
			v := c.crd.Spec.Versions[0]
			got := map[string]any{
				"group": c.crd.Spec.Group, "kind": c.crd.Spec.Names.Kind, "version": v.Name,
				"served": v.Served, "storage": v.Storage, "categories": c.crd.Spec.Names.Categories,
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("CRD identity (-want +got):\n%s", d)
			}
			wantScope := apiextensionsv1.ClusterScoped
			if kind == v1alpha1.KindSecurityGate {
				wantScope = apiextensionsv1.NamespaceScoped
			}
			if c.crd.Spec.Scope != wantScope || len(c.crd.Spec.Names.ShortNames) == 0 {
				t.Errorf("scope %s short names %v", c.crd.Spec.Scope, c.crd.Spec.Names.ShortNames)
			}
			var cols []string
			for _, col := range v.AdditionalPrinterColumns {
				cols = append(cols, col.Name)
			}
			for _, want := range []string{"Mode", "Level", "Gate-Order", "Age"} {
				if !slices.Contains(cols, want) {
					t.Errorf("printer column %s missing: %v", want, cols)
				}
			}
		})
	}
}

// invalid lists policies both the CRD and Validate must reject. goWant and
// crdWant are substrings of the respective errors, naming the field.
var invalid = []struct {
	name    string
	spec    string
	goWant  string
	crdWant string
}{
	{"unknown mode", "  mode: Audit\n", "spec.mode", "spec.mode: Unsupported value"},
	{"unknown gateOrder", "  gateOrder: enforce\n", "spec.gateOrder", "spec.gateOrder: Unsupported value"},
	{"unknown level", "  securityContext: {level: strict}\n", "spec.securityContext.level", "spec.securityContext.level: Unsupported value"},
	{"unknown field", "  images: {requireDigests: true}\n", "unknown field: spec.images.requireDigests", "spec.images.requireDigests: Invalid value: null: unknown field"},
	{"bad namespace", "  namespaces: {deny: [Bad_NS]}\n", "spec.namespaces.deny[0]", "spec.namespaces.deny[0]: Invalid value"},
	{"authority without name", "  authorities: [{keyless: {issuer: i, subject: s}}]\n", "spec.authorities[0].name", "spec.authorities[0].name: Required value"},
	{"duplicate authority", "  authorities: [{name: a, keyless: {issuer: i, subject: s}}, {name: a, keyless: {issuer: i, subject: s}}]\n",
		"spec.authorities[1].name", `spec.authorities[1]: Duplicate value: {"name":"a"}`},
	{"authority with neither key nor keyless", "  authorities: [{name: a}]\n", "spec.authorities[0].key, spec.authorities[0].keyless", "spec.authorities[0]: Invalid value: exactly one of key and keyless"},
	{"authority with key and keyless", "  authorities:\n  - name: a\n    keyless: {issuer: i, subject: s}\n    key:\n      data: |\n          $KEY\n",
		"spec.authorities[0].key, spec.authorities[0].keyless", "exactly one of key and keyless"},
	{"key with neither data nor secretRef", "  authorities: [{name: a, key: {}}]\n", "spec.authorities[0].key.data, spec.authorities[0].key.secretRef", "spec.authorities[0].key: Invalid value: exactly one of data and secretRef"},
	{"key with data and secretRef", "  authorities:\n  - name: a\n    key:\n      secretRef: {name: s, key: k}\n      data: |\n          $KEY\n",
		"spec.authorities[0].key.data, spec.authorities[0].key.secretRef", "exactly one of data and secretRef"},
	{"secretRef without key", "  authorities: [{name: a, key: {secretRef: {name: s}}}]\n", "spec.authorities[0].key.secretRef.key", "spec.authorities[0].key.secretRef.key: Required value"},
	{"key data without PEM", "  authorities: [{name: a, key: {data: ssh-ed25519 AAAA}}]\n", "spec.authorities[0].key.data", "spec.authorities[0].key.data: Invalid value: \"ssh-ed25519 AAAA\": one or more PEM-encoded public keys"},
	{"keyless without issuer", "  authorities: [{name: a, keyless: {subject: s}}]\n", "spec.authorities[0].keyless.issuer, spec.authorities[0].keyless.issuerRegExp", "spec.authorities[0].keyless: Invalid value: exactly one of issuer and issuerRegExp"},
	{"keyless with issuer and issuerRegExp", "  authorities: [{name: a, keyless: {issuer: i, issuerRegExp: i, subject: s}}]\n", "spec.authorities[0].keyless.issuer, spec.authorities[0].keyless.issuerRegExp", "exactly one of issuer and issuerRegExp"},
	{"keyless without subject", "  authorities: [{name: a, keyless: {issuer: i}}]\n", "spec.authorities[0].keyless.subject, spec.authorities[0].keyless.subjectRegExp", "exactly one of subject and subjectRegExp"},
	{"keyless with subject and subjectRegExp", "  authorities: [{name: a, keyless: {issuer: i, subject: s, subjectRegExp: s}}]\n", "spec.authorities[0].keyless.subject, spec.authorities[0].keyless.subjectRegExp", "exactly one of subject and subjectRegExp"},
	{"bad issuerRegExp", "  authorities: [{name: a, keyless: {issuerRegExp: 'https://(', subject: s}}]\n", "spec.authorities[0].keyless.issuerRegExp", "spec.authorities[0].keyless.issuerRegExp: Invalid value"},
	{"bad subjectRegExp", "  authorities: [{name: a, keyless: {issuer: i, subjectRegExp: 'a**'}}]\n", "spec.authorities[0].keyless.subjectRegExp", "spec.authorities[0].keyless.subjectRegExp: Invalid value"},
	{"trustedRoot without data", "  authorities: [{name: a, keyless: {issuer: i, subject: s, trustedRoot: {}}}]\n", "spec.authorities[0].keyless.trustedRoot.data", "spec.authorities[0].keyless.trustedRoot: Invalid value: data is required"},
	{"unknown bundle authority", "  bundles: {authorities: [nobody]}\n", "spec.bundles.authorities[0]", "spec: Invalid value: bundles.authorities: every name must be defined in spec.authorities"},
	{"unknown image authority", "  authorities: [{name: a, keyless: {issuer: i, subject: s}}]\n  images: {authorities: [a, b]}\n", "spec.images.authorities[1]", "images.authorities: every name must be defined in spec.authorities"},
	{"attestation without any authority", "  attestations: [{name: v, type: vuln}]\n", "spec.attestations[0].authorities", "spec: Invalid value: attestations[]: no authority may sign the attestation"},
	{"attestation with an empty authority list", "  images: {authorities: []}\n  attestations: [{name: v, type: vuln, authorities: []}]\n", "spec.attestations[0].authorities", "no authority may sign the attestation"},
	{"unknown attestation authority", "  authorities: [{name: a, keyless: {issuer: i, subject: s}}]\n  attestations: [{name: v, type: vuln, authorities: [b]}]\n", "spec.attestations[0].authorities[0]", "attestations[].authorities: every name must be defined in spec.authorities"},
	{"exclude glob with tag", "  images: {exclude: ['registry.example.com/tools:v1']}\n", "spec.images.exclude[0]", "spec.images.exclude[0]: Invalid value"},
	{"exclude glob with digest", "  images: {exclude: ['registry.example.com/tools@sha256:*']}\n", "spec.images.exclude[0]", "spec.images.exclude[0]: Invalid value"},
	{"empty exclude glob", "  images: {exclude: ['']}\n", "spec.images.exclude[0]", "spec.images.exclude[0]: Invalid value"},
	{"attestation without name", "  attestations: [{type: vuln}]\n", "spec.attestations[0].name", "spec.attestations[0].name: Required value"},
	{"attestation without type", "  attestations: [{name: v}]\n", "spec.attestations[0].type", "spec.attestations[0].type: Required value"},
	{"duplicate attestation", "  attestations: [{name: v, type: vuln}, {name: v, type: slsaprovenance}]\n", "spec.attestations[1].name", "spec.attestations[1]: Duplicate value"},
	{"unknown attestation type", "  attestations: [{name: v, type: sbom}]\n", "spec.attestations[0].type", "spec.attestations[0].type: Invalid value: \"sbom\": vuln, slsaprovenance, slsaprovenance1, or a predicateType URI"},
	{"attestation type with a space", "  attestations: [{name: v, type: 'https://example.com/a b'}]\n", "spec.attestations[0].type", "spec.attestations[0].type: Invalid value"},
	{"attestation type scheme without host", "  attestations: [{name: v, type: 'https:/x'}]\n", "spec.attestations[0].type", "spec.attestations[0].type: Invalid value"},
	{"maxAge in days", "  attestations: [{name: v, type: vuln, maxAge: 7d}]\n", "spec.attestations[0].maxAge", "spec.attestations[0].maxAge"},
	{"zero maxAge", "  attestations: [{name: v, type: vuln, maxAge: 0s}]\n", "spec.attestations[0].maxAge", "spec.attestations[0].maxAge: Invalid value: \"0s\": a positive Go duration"},
	{"negative maxAge", "  attestations: [{name: v, type: vuln, maxAge: -1h}]\n", "spec.attestations[0].maxAge", "spec.attestations[0].maxAge: Invalid value: \"-1h\": a positive Go duration"},
	{"vulnerabilities on provenance", "  attestations: [{name: p, type: slsaprovenance1, vulnerabilities: {}}]\n", "spec.attestations[0].vulnerabilities", "spec.attestations[0]: Invalid value: vulnerabilities applies to vulnerability-scan attestations"},
	{"unknown severity", "  attestations: [{name: v, type: vuln, vulnerabilities: {deny: [critical, severe]}}]\n", "spec.attestations[0].vulnerabilities.deny[1]", "spec.attestations[0].vulnerabilities.deny: Invalid value: severities"},
	{"exception without expires", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, reason: r}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].expires", "spec.attestations[0].vulnerabilities.exceptions[0].expires: Required value"},
	{"exception without reason", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, expires: '2027-01-31'}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].reason", "spec.attestations[0].vulnerabilities.exceptions[0].reason: Required value"},
	{"exception with empty reason", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, expires: '2027-01-31', reason: ''}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].reason", "spec.attestations[0].vulnerabilities.exceptions[0].reason: Invalid value"},
	{"exception without id", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{expires: '2027-01-31', reason: r}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].id", "spec.attestations[0].vulnerabilities.exceptions[0].id: Required value"},
	{"exception with a foreign date", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, expires: 31/01/2027, reason: r}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].expires", "spec.attestations[0].vulnerabilities.exceptions[0].expires"},
	{"exception on a day that does not exist", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, expires: '2027-02-30', reason: r}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].expires", "spec.attestations[0].vulnerabilities.exceptions[0].expires"},
	{"exception with a time without zone", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, expires: '2027-01-31T10:00:00', reason: r}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].expires", "spec.attestations[0].vulnerabilities.exceptions[0].expires"},
	{"exception image glob with tag", "  attestations: [{name: v, type: vuln, vulnerabilities: {exceptions: [{id: CVE-1, expires: '2027-01-31', reason: r, images: ['app:1']}]}}]\n", "spec.attestations[0].vulnerabilities.exceptions[0].images[0]", "spec.attestations[0].vulnerabilities.exceptions[0].images[0]: Invalid value"},
}

func TestInvalidPoliciesAreRejectedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range invalid {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				rejectedByBoth(t, c, doc, tt.goWant, tt.crdWant)
			})
		}
	}
}

// goOnly lists what the schema cannot express, so only Validate (the
// controller and the CLI run it on every policy they use) rejects it. The test
// pins the gap: if the CRD learns to reject one, move it to invalid.
var goOnly = []struct {
	name, spec, goWant string
}{
	{"PEM block that is not a key", "  authorities: [{name: a, key: {data: \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"}}]\n", "spec.authorities[0].key.data"},
	{"glob syntax", "  images: {exclude: ['registry.example.com/[tools']}\n", "spec.images.exclude[0]"},
	{"trustedRoot that is not JSON", "  authorities: [{name: a, keyless: {issuer: i, subject: s, trustedRoot: {data: 'not json'}}}]\n", "spec.authorities[0].keyless.trustedRoot.data"},
}

func TestSchemaGapsAreCoveredByValidate(t *testing.T) {
	c := loadCRD(t, crdFiles[v1alpha1.KindClusterSecurityGate])
	for _, tt := range goOnly {
		t.Run(tt.name, func(t *testing.T) {
			doc := document(t, v1alpha1.KindClusterSecurityGate, tt.spec)
			if _, err := v1alpha1.ParsePolicy(doc); err == nil || !strings.Contains(err.Error(), tt.goWant) {
				t.Errorf("Go validation: got %v, want an error containing %q", err, tt.goWant)
			}
			if errs := c.validate(toMap(t, doc)); len(errs) > 0 {
				t.Errorf("the CRD now rejects this (%v): move the case to invalid", errs.ToAggregate())
			}
		})
	}
}

// signer defines an authority and makes it the images' (and so the
// attestations') signer.
const signer = "  authorities: [{name: a, keyless: {issuer: i, subject: s}}]\n  images: {authorities: [a]}\n"

// valid lists policies both must accept, including every form the API allows.
var valid = []struct{ name, spec string }{
	{"empty spec", "  {}\n"},
	{"keyless with regexps and a trusted root", "  authorities:\n  - name: ci\n    keyless:\n      issuerRegExp: 'https://token\\.actions\\.githubusercontent\\.com'\n      subjectRegExp: '^https://github\\.com/acme/.+$'\n      trustedRoot: {data: '{\"mediaType\": \"x\"}'}\n    ignoreSCT: true\n  images: {authorities: [ci]}\n"},
	{"secretRef key", "  authorities: [{name: vault, key: {secretRef: {name: cosign-pub, key: cosign.pub}}}]\n  bundles: {required: true, authorities: [vault]}\n"},
	{"attestation types", signer + "  attestations:\n  - {name: a, type: vuln, maxAge: 1h30m}\n  - {name: b, type: slsaprovenance}\n  - {name: c, type: slsaprovenance1}\n  - {name: d, type: 'https://example.com/predicate/v1'}\n  - {name: e, type: cosign.sigstore.dev/attestation/vuln/v1, vulnerabilities: {deny: [low]}}\n  - {name: f, type: 'urn:example:predicate'}\n"},
	{"exceptions", signer + "  attestations:\n  - name: v\n    type: vuln\n    vulnerabilities:\n      deny: [Critical, ' high ']\n      ignoreUnfixed: true\n      exceptions:\n      - {id: CVE-1, expires: 2027-01-31, reason: r}\n      - {id: CVE-2, expires: '2027-01-31T10:00:00+02:00', reason: r, images: ['registry.example.com/app*', 'localhost:5000/x/[a-c]?']}\n"},
	{"explicit empty deny list and privileged", "  namespaces: {deny: []}\n  securityContext: {level: privileged}\n  mode: Warn\n  gateOrder: 'Off'\n"},
}

func TestValidPoliciesAreAcceptedByBoth(t *testing.T) {
	full, err := os.ReadFile(filepath.Join(repoRoot(t), "pkg/apis/securitygate/v1alpha1/testdata/policy-full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		docs := map[string][]byte{"policy-full.yaml": []byte(strings.Replace(string(full), "kind: ClusterSecurityGate", "kind: "+kind, 1))}
		if kind == v1alpha1.KindSecurityGate {
			docs["policy-full.yaml"] = []byte(strings.Replace(string(docs["policy-full.yaml"]), "  name: strict\n", "  name: strict\n  namespace: team\n", 1))
		}
		for _, tt := range valid {
			docs[tt.name] = document(t, kind, tt.spec)
		}
		for _, s := range samples(t, kind) {
			docs[s.name] = s.doc
		}
		for name, doc := range docs {
			t.Run(kind+"/"+name, func(t *testing.T) {
				acceptedByBoth(t, c, doc)
			})
		}
	}
}

// samples are the policy documents of kind found under config/ and
// examples/ (other than the CRDs), so shipped examples stay valid.
func samples(t testing.TB, kind string) []struct {
	name string
	doc  []byte
} {
	t.Helper()
	var out []struct {
		name string
		doc  []byte
	}
	root := repoRoot(t)
	for _, dir := range []string{"config", "examples"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
				return nil
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if dir == "examples" {
				// The walk-through holds placeholders (a public key, digests);
				// check it as a user would apply it, rendered.
				raw = renderExample(t, path, raw)
			}
			for i, doc := range strings.Split(string(raw), "\n---") {
				if strings.Contains(doc, "apiVersion: securitygate.dev/v1alpha1") && strings.Contains(doc, "\nkind: "+kind+"\n") {
					rel, _ := filepath.Rel(root, path)
					out = append(out, struct {
						name string
						doc  []byte
					}{fmt.Sprintf("%s#%d", rel, i), []byte(doc)})
				}
			}
			return nil
		})
	}
	return out
}

// renderExample substitutes every placeholder of an examples/ file with a
// plausible value: a real public key, a digest, a registry, a time.
func renderExample(t testing.TB, path string, raw []byte) []byte {
	t.Helper()
	vars := map[string]string{}
	for p := range examples.Placeholders {
		switch {
		case p == "PUBLIC_KEY":
			vars[p] = publicKeyPEM(t)
		case p == "REGISTRY":
			vars[p] = "registry.example.com/acme"
		case p == "SCAN_FINISHED":
			vars[p] = "2026-01-30T12:00:00Z"
		case strings.HasPrefix(p, "DIGEST_"):
			vars[p] = "sha256:" + strings.Repeat("ab", 32)
		}
	}
	out, err := examples.Render(path, raw, vars)
	if err != nil {
		t.Fatalf("rendering %s: %v", path, err)
	}
	return out
}

// acceptedByBoth: the Go validation and the CRD both accept doc, and the
// API server's defaults are the Go defaults, so a policy means the same in
// the cluster and in the CLI. It returns the parsed policy.
func acceptedByBoth(t *testing.T, c *crdSchema, doc []byte) *v1alpha1.Policy {
	t.Helper()
	p, err := v1alpha1.ParsePolicy(doc)
	if err != nil {
		t.Fatalf("Go validation: %v", err)
	}
	obj := toMap(t, doc)
	if errs := c.validate(obj); len(errs) > 0 {
		t.Fatalf("CRD validation: %v", errs.ToAggregate())
	}
	fromServer, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	q, err := v1alpha1.ParsePolicy(fromServer)
	if err != nil {
		t.Fatalf("the defaulted object does not parse: %v", err)
	}
	if d := cmp.Diff(p.Spec, q.Spec); d != "" {
		t.Errorf("CRD defaults differ from SetDefaults (-Go +server):\n%s", d)
	}
	return p
}

// rejectedByBoth: the Go validation and the CRD both refuse doc, each with
// a message naming the field.
func rejectedByBoth(t *testing.T, c *crdSchema, doc []byte, goWant, crdWant string) {
	t.Helper()
	_, goErr := v1alpha1.ParsePolicy(doc)
	if goErr == nil || !strings.Contains(goErr.Error(), goWant) {
		t.Errorf("Go validation: got %v\nwant an error containing %q", goErr, goWant)
	}
	errs := c.validate(toMap(t, doc))
	if len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), crdWant) {
		t.Errorf("CRD validation: got %v\nwant an error containing %q", errs.ToAggregate(), crdWant)
	}
}
