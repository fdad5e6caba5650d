package verify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/fixture"
)

const (
	cveCritical = "CVE-2026-1000"
	cveHigh     = "CVE-2026-2000"
	cryptoPURL  = "pkg:golang/golang.org/x/crypto@v0.26.0"
	openVEX     = "https://openvex.dev/ns"
)

// trivyScan is a cosign vuln predicate (Trivy) finding a Critical in
// golang.org/x/crypto (with its purl) and a High in stdlib.
func trivyScan(finished time.Time) []byte {
	return []byte(fmt.Sprintf(`{"invocation": {}, "scanner": {"uri": "pkg:github/aquasecurity/trivy@0.58.0", "version": "0.58.0",
 "result": {"SchemaVersion": 2, "ArtifactName": "app", "Results": [{"Target": "app", "Vulnerabilities": [
  {"VulnerabilityID": %q, "PkgName": "golang.org/x/crypto", "PkgIdentifier": {"PURL": %q}, "InstalledVersion": "v0.26.0", "FixedVersion": "0.31.0", "Status": "fixed", "Severity": "CRITICAL"},
  {"VulnerabilityID": %q, "PkgName": "stdlib", "InstalledVersion": "1.21.3", "Status": "affected", "Severity": "HIGH"}]}]}},
 "metadata": {"scanStartedOn": %[4]q, "scanFinishedOn": %[4]q}}`, cveCritical, cryptoPURL, cveHigh, finished.UTC().Format(time.RFC3339)))
}

// openVEXDoc is an OpenVEX document issued at ts with the given statements.
func openVEXDoc(ts time.Time, statements ...string) []byte {
	return []byte(fmt.Sprintf(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vendor.example.com/vex/%d", "author": "Vendor PSIRT",
 "timestamp": %q, "version": 1, "statements": [%s]}`, ts.UnixNano(), ts.UTC().Format(time.RFC3339), strings.Join(statements, ",")))
}

// vexStatement says status for vuln about product ("" inherits the
// attestation subject), with extra fields.
func vexStatement(vuln, product, status string, extra ...string) string {
	f := []string{fmt.Sprintf(`"vulnerability": {"name": %q}`, vuln), fmt.Sprintf(`"status": %q`, status)}
	if product != "" {
		f = append(f, fmt.Sprintf(`"products": [{"@id": %q}]`, product))
	}
	return "{" + strings.Join(append(f, extra...), ", ") + "}"
}

const notInPath = `"justification": "vulnerable_code_not_in_execute_path"`

func vexPolicy(signer, vendor *fixture.Signer, vex *v1alpha1.VEXPolicy, exceptions ...v1alpha1.VulnerabilityException) *v1alpha1.SecurityGateSpec {
	spec := imagePolicy(keyAuthority("signer", signer.PublicPEM), keyAuthority("vendor", vendor.PublicPEM))
	spec.Images.Authorities = []string{"signer"}
	spec.Attestations = []v1alpha1.AttestationPolicy{{Name: "scan", Type: "vuln", Vulnerabilities: &v1alpha1.VulnerabilityPolicy{
		Deny: []string{"CRITICAL", "HIGH"}, Exceptions: exceptions, VEX: vex,
	}}}
	return spec
}

// pushVEXArtifact publishes doc as a one-layer OCI artifact and returns its
// digest reference.
func pushVEXArtifact(t *testing.T, w *world, repo string, doc []byte) name.Digest {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, "application/vnd.oci.empty.v1+json")
	img, err := mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(doc, "application/vnd.openvex+json")})
	if err != nil {
		t.Fatal(err)
	}
	return fixture.PushImage(t, w.reg.Repo(repo)+":v1", img)
}

func notesOf(res gate.ImageResult) string {
	var b strings.Builder
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "%s: %s\n", n.Check, n.Message)
	}
	return b.String()
}

// TestVEX proves each rule of trusting VEX with real signatures, in both
// cosign layouts: only VEX signed by vulnerabilities.vex.authorities drops
// findings (not_affected with a justification, fixed), each drop is a note,
// and VEX that is untrusted, unsigned or malformed never passes silently.
func TestVEX(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		w := newWorld(t, referrers)
		vendor, stranger := fixture.NewKey(t), fixture.NewKey(t)
		trusted := &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}}
		type attach func(t *testing.T, d name.Digest)
		attestVEX := func(k *fixture.Signer, bundle bool, doc func(d name.Digest) []byte) attach {
			return func(t *testing.T, d name.Digest) {
				if bundle {
					k.AttestBundle(t, d, openVEX, doc(d))
				} else {
					k.AttestClassic(t, d, openVEX, doc(d))
				}
			}
		}
		both := func(d name.Digest) []byte {
			return openVEXDoc(testNow.Add(-time.Hour),
				vexStatement(cveCritical, d.DigestStr(), "not_affected", notInPath),
				vexStatement(cveHigh, "", "fixed"))
		}
		criticalOnly := func(d name.Digest) []byte {
			return openVEXDoc(testNow.Add(-time.Hour), vexStatement(cveCritical, d.DigestStr(), "not_affected", notInPath))
		}
		for _, bundle := range []bool{false, true} {
			layout := map[bool]string{false: "classic", true: "bundle"}[bundle]
			cases := []struct {
				name      string
				vex       *v1alpha1.VEXPolicy
				attach    []attach
				wantViol  []string
				wantText  string
				wantNotes []string
				except    bool
			}{
				{name: "no VEX", vex: trusted, wantViol: []string{gate.CheckVulnerabilities}, wantText: cveCritical + " (CRITICAL), " + cveHigh + " (HIGH)"},
				{name: "trusted VEX drops both", vex: trusted, attach: []attach{attestVEX(vendor, bundle, both)},
					wantNotes: []string{cveCritical + " (CRITICAL) dropped: VEX says not_affected (vulnerable_code_not_in_execute_path)", cveHigh + " (HIGH) dropped: VEX says fixed", "statement by Vendor PSIRT", "signed by authority vendor"}},
				{name: "a subcomponent the finding names", vex: trusted, attach: []attach{attestVEX(vendor, bundle, func(d name.Digest) []byte {
					return openVEXDoc(testNow.Add(-time.Hour), fmt.Sprintf(`{"vulnerability": {"name": %q}, "status": "not_affected", %s, "products": [{"@id": %q, "subcomponents": [{"@id": "pkg:golang/golang.org/x/crypto"}]}]}`, cveCritical, notInPath, d.DigestStr()))
				})}, wantViol: []string{gate.CheckVulnerabilities}, wantText: "1 vulnerability of a denied severity (vulnerabilities.deny: CRITICAL, HIGH): " + cveHigh + " (HIGH)",
					wantNotes: []string{cveCritical + " (CRITICAL) dropped", "subcomponent pkg:golang/golang.org/x/crypto"}},
				{name: "VEX for another image changes nothing", vex: trusted, attach: []attach{attestVEX(vendor, bundle, func(name.Digest) []byte {
					return openVEXDoc(testNow.Add(-time.Hour), vexStatement(cveCritical, "sha256:"+strings.Repeat("0", 64), "not_affected", notInPath))
				})}, wantViol: []string{gate.CheckVulnerabilities}, wantText: cveCritical + " (CRITICAL)"},
				{name: "affected keeps", vex: trusted, attach: []attach{attestVEX(vendor, bundle, func(d name.Digest) []byte {
					return openVEXDoc(testNow.Add(-time.Hour), vexStatement(cveCritical, d.DigestStr(), "affected", `"action_statement": "upgrade"`), vexStatement(cveHigh, "", "under_investigation"))
				})}, wantViol: []string{gate.CheckVulnerabilities}, wantText: cveCritical + " (CRITICAL), " + cveHigh + " (HIGH)"},
				{name: "a later affected overrides an earlier not_affected", vex: trusted, attach: []attach{
					attestVEX(vendor, bundle, both),
					attestVEX(vendor, bundle, func(d name.Digest) []byte {
						return openVEXDoc(testNow.Add(-time.Minute), vexStatement(cveCritical, d.DigestStr(), "affected", `"action_statement": "upgrade"`))
					}),
				}, wantViol: []string{gate.CheckVulnerabilities}, wantText: "1 vulnerability of a denied severity (vulnerabilities.deny: CRITICAL, HIGH): " + cveCritical + " (CRITICAL)",
					wantNotes: []string{cveHigh + " (HIGH) dropped: VEX says fixed"}},
				{name: "VEX of an untrusted signer changes nothing", vex: trusted, attach: []attach{attestVEX(stranger, bundle, both)},
					wantViol: []string{gate.CheckVulnerabilities}, wantText: cveCritical + " (CRITICAL), " + cveHigh + " (HIGH)",
					wantNotes: []string{"VEX was present on", "but not trusted (it is not signed by vulnerabilities.vex.authorities)", "signed by none of vendor"}},
				{name: "without vulnerabilities.vex, trusted VEX is not applied", attach: []attach{attestVEX(vendor, bundle, both)},
					wantViol: []string{gate.CheckVulnerabilities}, wantText: cveCritical + " (CRITICAL), " + cveHigh + " (HIGH)",
					wantNotes: []string{"VEX was present on", "attestations[].vulnerabilities.vex is not set for this attestation"}},
				{name: "malformed trusted VEX is a violation", vex: trusted, attach: []attach{attestVEX(vendor, bundle, func(d name.Digest) []byte {
					return openVEXDoc(testNow.Add(-time.Hour), vexStatement(cveCritical, d.DigestStr(), "not_affected"))
				})}, wantViol: []string{gate.CheckVulnerabilities, gate.CheckVulnerabilities}, wantText: "either justification or impact statement must be defined"},
				{name: "exceptions and VEX both apply", vex: trusted, except: true, attach: []attach{attestVEX(vendor, bundle, criticalOnly)},
					wantNotes: []string{cveCritical + " (CRITICAL) dropped"}},
			}
			for i, tt := range cases {
				t.Run(fmt.Sprintf("%s/referrers=%v/%s", layout, referrers, tt.name), func(t *testing.T) {
					signer := fixture.NewKey(t)
					d := w.image(t, fmt.Sprintf("vex/%s/%d", layout, i))
					signer.SignClassic(t, d)
					if bundle {
						signer.AttestBundle(t, d, fixture.CosignVulnPredicate, trivyScan(testNow.Add(-time.Hour)))
					} else {
						signer.AttestClassic(t, d, fixture.CosignVulnPredicate, trivyScan(testNow.Add(-time.Hour)))
					}
					for _, a := range tt.attach {
						a(t, d)
					}
					var ex []v1alpha1.VulnerabilityException
					if tt.except {
						ex = append(ex, v1alpha1.VulnerabilityException{ID: cveHigh, Expires: "2027-01-01", Reason: "accepted"})
					}
					res, err := verifyImage(t, newTestVerifier(t, vexPolicy(signer, vendor, tt.vex, ex...), testOpts{}), d)
					expect(t, res, err, tt.wantViol, tt.wantText)
					notes := notesOf(res)
					for _, want := range tt.wantNotes {
						if !strings.Contains(notes, want) {
							t.Errorf("notes do not say %q:\n%s", want, notes)
						}
					}
					if len(tt.wantNotes) == 0 && tt.vex != nil && strings.Contains(notes, "dropped") {
						t.Errorf("unexpected drop notes:\n%s", notes)
					}
				})
			}
		}
	}
}

// TestVEXNoteCarriesTheStatement: the note of a dropped finding names the
// id, product, status, justification, author and the document's digest.
func TestVEXNoteCarriesTheStatement(t *testing.T) {
	w := newWorld(t, true)
	signer, vendor := fixture.NewKey(t), fixture.NewKey(t)
	d := w.image(t, "vex/note")
	signer.SignClassic(t, d)
	signer.AttestClassic(t, d, fixture.CosignVulnPredicate, trivyScan(testNow))
	doc := openVEXDoc(testNow.Add(-time.Hour), vexStatement(cveCritical, d.DigestStr(), "not_affected", notInPath), vexStatement(cveHigh, d.DigestStr(), "fixed"))
	vendor.AttestClassic(t, d, openVEX, doc)
	res, err := verifyImage(t, newTestVerifier(t, vexPolicy(signer, vendor, &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}}), testOpts{}), d)
	expect(t, res, err, nil, "")
	var got *gate.VEXNote
	for _, n := range res.Notes {
		if n.VEX != nil && n.VEX.Vulnerability == cveCritical {
			got = n.VEX
		}
	}
	if got == nil {
		t.Fatalf("no VEX note for %s: %s", cveCritical, notesOf(res))
	}
	if got.Product != d.DigestStr() || got.Status != "not_affected" || got.Justification != "vulnerable_code_not_in_execute_path" ||
		got.Author != "Vendor PSIRT" || got.Authority != "vendor" || !strings.HasPrefix(got.Document, "sha256:") ||
		got.Package != cryptoPURL || got.Severity != "CRITICAL" || got.Attestation != "scan" || !strings.Contains(got.Source, "OpenVEX attestation") {
		b, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("note lacks what an auditor needs:\n%s", b)
	}
	if len(res.Evidence) < 2 {
		t.Errorf("evidence %+v: want the scan and the VEX attestation", res.Evidence)
	}
}

// TestVEXDocumentsNamedByThePolicy: a VEX document published as an OCI
// artifact applies only when the artifact is signed by a VEX authority; a
// missing or untrusted document is a violation, a registry failure could
// not decide.
func TestVEXDocumentsNamedByThePolicy(t *testing.T) {
	w := newWorld(t, true)
	signer, vendor, stranger := fixture.NewKey(t), fixture.NewKey(t), fixture.NewKey(t)
	d := w.image(t, "vexdoc/app")
	signer.SignClassic(t, d)
	signer.AttestClassic(t, d, fixture.CosignVulnPredicate, trivyScan(testNow))
	doc := openVEXDoc(testNow.Add(-time.Hour),
		vexStatement(cveCritical, "pkg:oci/app@sha256%3A"+strings.TrimPrefix(d.DigestStr(), "sha256:")+"?repository_url="+d.Context().Name(), "not_affected", notInPath),
		vexStatement(cveHigh, d.String(), "fixed"))
	signed := pushVEXArtifact(t, w, "vexdoc/signed", doc)
	vendor.SignClassic(t, signed)
	foreign := pushVEXArtifact(t, w, "vexdoc/foreign", doc)
	stranger.SignClassic(t, foreign)
	malformed := pushVEXArtifact(t, w, "vexdoc/malformed", openVEXDoc(testNow, vexStatement(cveHigh, "", "fixed")))
	vendor.SignClassic(t, malformed)
	missing := signed.Context().Digest("sha256:" + strings.Repeat("9", 64))
	broken := pushVEXArtifact(t, w, "vexdoc/broken", doc)
	vendor.SignClassic(t, broken)

	for _, tt := range []struct {
		name     string
		doc      name.Digest
		wantViol []string
		wantText string
		undecide bool
	}{
		{"signed by a VEX authority", signed, nil, "", false},
		{"signed by another key", foreign, []string{gate.CheckVulnerabilities, gate.CheckVulnerabilities}, "is not trusted", false},
		{"malformed", malformed, []string{gate.CheckVulnerabilities, gate.CheckVulnerabilities}, "statements[0].products is missing", false},
		{"missing", missing, []string{gate.CheckVulnerabilities, gate.CheckVulnerabilities}, "does not exist", false},
		{"registry failure", broken, nil, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.undecide {
				path := "/v2/" + broken.Context().RepositoryStr() + "/manifests/" + broken.DigestStr()
				w.reg.SetHook(func(rw http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path == path {
						rw.WriteHeader(http.StatusInternalServerError)
						return true
					}
					return false
				})
				defer w.reg.SetHook(nil)
			}
			spec := vexPolicy(signer, vendor, &v1alpha1.VEXPolicy{Authorities: []string{"vendor"}, Documents: []string{tt.doc.String()}})
			res, err := verifyImage(t, newTestVerifier(t, spec, testOpts{retries: -1}), d)
			if tt.undecide {
				if err == nil {
					t.Fatalf("a VEX document the registry failed to serve did not make it undecided: %+v", res)
				}
				return
			}
			expect(t, res, err, tt.wantViol, tt.wantText)
			if tt.wantViol == nil && !strings.Contains(notesOf(res), signed.String()) {
				t.Errorf("notes do not name the document %s:\n%s", signed, notesOf(res))
			}
		})
	}
}
