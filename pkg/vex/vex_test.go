package vex

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	digestA = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digestB = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	repo    = "registry.example.com/team/app"
)

var img = Image{Repository: repo, Digest: digestA}

// doc builds an OpenVEX v0.2.0 document holding the given statements (JSON
// objects), issued at ts.
func doc(ts string, statements ...string) []byte {
	return []byte(fmt.Sprintf(`{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/1",
  "author": "Security Team <security@example.com>",
  "timestamp": %q,
  "version": 1,
  "statements": [%s]
}`, ts, strings.Join(statements, ",")))
}

// stmt is one statement about vuln for product, with extra fields.
func stmt(vuln, product, status string, extra ...string) string {
	fields := []string{fmt.Sprintf(`"vulnerability": {"name": %q}`, vuln), fmt.Sprintf(`"status": %q`, status)}
	if product != "" {
		fields = append(fields, fmt.Sprintf(`"products": [{"@id": %q}]`, product))
	}
	fields = append(fields, extra...)
	return "{" + strings.Join(fields, ", ") + "}"
}

const (
	justified = `"justification": "vulnerable_code_not_in_execute_path"`
	action    = `"action_statement": "upgrade"`
	t1        = "2026-01-01T00:00:00Z"
	t2        = "2026-02-01T00:00:00Z"
)

func mustParse(t *testing.T, data []byte, src Source) *Document {
	t.Helper()
	d, err := Parse(data, src)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	return d
}

// TestStatusSemantics: not_affected (justified or with an impact statement)
// and fixed drop a finding; affected and under_investigation keep it.
func TestStatusSemantics(t *testing.T) {
	f := Finding{ID: "CVE-2026-0001"}
	for _, tt := range []struct {
		name      string
		statement string
		drop      bool
	}{
		{"not_affected with a justification", stmt("CVE-2026-0001", digestA, "not_affected", justified), true},
		{"not_affected with an impact statement", stmt("CVE-2026-0001", digestA, "not_affected", `"impact_statement": "the function is never called"`), true},
		{"fixed", stmt("CVE-2026-0001", digestA, "fixed"), true},
		{"affected", stmt("CVE-2026-0001", digestA, "affected", action), false},
		{"under_investigation", stmt("CVE-2026-0001", digestA, "under_investigation"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet(mustParse(t, doc(t1, tt.statement), Source{Location: "test", Authority: "vendor"}))
			d, ok := s.Decide(img, f)
			if !ok {
				t.Fatal("no statement applies")
			}
			if d.Drop != tt.drop {
				t.Errorf("drop = %v, want %v (%+v)", d.Drop, tt.drop, d)
			}
			if d.Author != "Security Team <security@example.com>" || d.Authority != "vendor" || !strings.HasPrefix(d.Document, "sha256:") {
				t.Errorf("decision does not say who said it: %+v", d)
			}
		})
	}
}

// TestMalformedDocuments: a document that breaks the spec is an error as a
// whole, never a document with fewer (or no) statements.
func TestMalformedDocuments(t *testing.T) {
	ok := stmt("CVE-1", digestA, "fixed")
	for _, tt := range []struct {
		name, want string
		data       []byte
		src        Source
	}{
		{"not_affected without justification or impact statement", "either justification or impact statement must be defined", doc(t1, ok, stmt("CVE-2", digestA, "not_affected")), Source{}},
		{"unknown justification", "invalid justification", doc(t1, stmt("CVE-2", digestA, "not_affected", `"justification": "trust_me"`)), Source{}},
		{"unknown status", "invalid status", doc(t1, stmt("CVE-2", digestA, "not_vulnerable")), Source{}},
		{"affected without an action statement", "action statement must be set", doc(t1, stmt("CVE-2", digestA, "affected")), Source{}},
		{"statement without vulnerability name", "statements[0].vulnerability.name is missing", doc(t1, `{"vulnerability": {}, "status": "fixed", "products": [{"@id": "`+digestA+`"}]}`), Source{}},
		{"standalone statement without products", "statements[1].products is missing", doc(t1, ok, stmt("CVE-2", "", "fixed")), Source{}},
		{"product without identity", "statements[0].products[0]: no @id", doc(t1, `{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": [{}]}`), Source{}},
		{"subcomponent without identity", "statements[0].products[0].subcomponents[0]", doc(t1, `{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": [{"@id": "`+digestA+`", "subcomponents": [{"supplier": "x"}]}]}`), Source{}},
		{"other context", "@context", []byte(strings.Replace(string(doc(t1, ok)), "ns/v0.2.0", "ns", 1)), Source{}},
		{"missing timestamp", "timestamp is missing", []byte(strings.Replace(string(doc(t1, ok)), `"timestamp": "2026-01-01T00:00:00Z",`, "", 1)), Source{}},
		{"missing author", "author is missing", []byte(strings.Replace(string(doc(t1, ok)), `"author": "Security Team <security@example.com>",`, "", 1)), Source{}},
		{"missing @id", "@id is missing", []byte(strings.Replace(string(doc(t1, ok)), `"@id": "https://example.com/vex/1",`, "", 1)), Source{}},
		{"version zero", "version 0", []byte(strings.Replace(string(doc(t1, ok)), `"version": 1`, `"version": 0`, 1)), Source{}},
		{"bad timestamp", "", doc("yesterday", ok), Source{}},
		{"not JSON", "not a JSON object", []byte("statements: []"), Source{}},
		{"truncated JSON", "not valid JSON", doc(t1, ok)[:40], Source{}},
		{"too many statements", "more than the 4096", doc(t1, strings.Repeat(ok+",", MaxStatements)+ok), Source{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.data, tt.src)
			if err == nil {
				t.Fatalf("Parse accepted it with %d statements", d.Statements())
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrMalformed mentioning %q", err, tt.want)
			}
		})
	}
}

// TestLatestStatementWins: for one vulnerability and product the statement
// with the latest timestamp wins, within a document and across documents;
// a tie keeps the finding.
func TestLatestStatementWins(t *testing.T) {
	f := Finding{ID: "CVE-2026-0002"}
	notAffected := func(ts string) string {
		return stmt("CVE-2026-0002", digestA, "not_affected", justified, fmt.Sprintf(`"timestamp": %q`, ts))
	}
	affected := func(ts string) string {
		return stmt("CVE-2026-0002", digestA, "affected", action, fmt.Sprintf(`"timestamp": %q`, ts))
	}
	for _, tt := range []struct {
		name   string
		docs   [][]byte
		drop   bool
		status string
	}{
		{"later not_affected overrides affected", [][]byte{doc(t1, affected(t1), notAffected(t2))}, true, "not_affected"},
		{"later affected overrides not_affected", [][]byte{doc(t1, notAffected(t1), affected(t2))}, false, "affected"},
		{"order in the document does not matter", [][]byte{doc(t1, affected(t2), notAffected(t1))}, false, "affected"},
		{"across documents", [][]byte{doc(t1, notAffected(t2)), doc(t1, affected(t1))}, true, "not_affected"},
		{"statement without timestamp inherits the document's", [][]byte{doc(t2, stmt("CVE-2026-0002", digestA, "fixed")), doc(t1, affected(t1))}, true, "fixed"},
		{"inherited time is older than an explicit one", [][]byte{doc(t1, stmt("CVE-2026-0002", digestA, "fixed")), doc(t1, affected(t2))}, false, "affected"},
		{"a tie keeps the finding", [][]byte{doc(t1, notAffected(t2)), doc(t1, affected(t2))}, false, "affected"},
		{"a tie with under_investigation keeps it", [][]byte{doc(t1, stmt("CVE-2026-0002", digestA, "fixed", `"timestamp": "`+t2+`"`), stmt("CVE-2026-0002", digestA, "under_investigation", `"timestamp": "`+t2+`"`))}, false, "under_investigation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			for _, d := range tt.docs {
				s.Add(mustParse(t, d, Source{}))
			}
			d, ok := s.Decide(img, f)
			if !ok {
				t.Fatal("no statement applies")
			}
			if d.Drop != tt.drop || d.Status != tt.status {
				t.Errorf("got drop=%v status=%s, want drop=%v status=%s", d.Drop, d.Status, tt.drop, tt.status)
			}
		})
	}
}

// TestMatching: statements match by vulnerability id or alias and by a
// product naming exactly this image (or the finding's package).
func TestMatching(t *testing.T) {
	purlA := "pkg:oci/app@sha256%3A" + strings.TrimPrefix(digestA, "sha256:")
	hexA := strings.TrimPrefix(digestA, "sha256:")
	crypto := "pkg:golang/golang.org/x/crypto@v0.26.0"
	finding := Finding{ID: "CVE-2026-0003", Aliases: []string{"GHSA-aaaa-bbbb-cccc"}, PURL: crypto}
	fixed := func(vuln, product string) string { return stmt(vuln, product, "fixed") }
	for _, tt := range []struct {
		name      string
		statement string
		finding   Finding
		src       Source
		match     bool
	}{
		{"image digest", fixed("CVE-2026-0003", digestA), finding, Source{}, true},
		{"another digest", fixed("CVE-2026-0003", digestB), finding, Source{}, false},
		{"another vulnerability", fixed("CVE-2026-9999", digestA), finding, Source{}, false},
		{"id case-insensitively", fixed("cve-2026-0003", digestA), finding, Source{}, true},
		{"the finding's alias", fixed("GHSA-aaaa-bbbb-cccc", digestA), finding, Source{}, true},
		{"the statement's alias", stmt("GHSA-zzzz", digestA, "fixed", `"vulnerability": {"name": "GHSA-zzzz", "aliases": ["CVE-2026-0003"]}`), finding, Source{}, true},
		{"repository@digest", fixed("CVE-2026-0003", repo+"@"+digestA), finding, Source{}, true},
		{"another repository@digest", fixed("CVE-2026-0003", "registry.example.com/other/app@"+digestA), finding, Source{}, false},
		{"pkg:oci with the digest", fixed("CVE-2026-0003", purlA), finding, Source{}, true},
		{"pkg:oci with its repository_url", fixed("CVE-2026-0003", purlA+"?repository_url=registry.example.com/team/app&arch=amd64"), finding, Source{}, true},
		{"pkg:oci of another repository", fixed("CVE-2026-0003", purlA+"?repository_url=registry.example.com/other/app"), finding, Source{}, false},
		{"pkg:oci of another name", fixed("CVE-2026-0003", "pkg:oci/other@sha256%3A"+hexA), finding, Source{}, false},
		{"pkg:oci without a digest", fixed("CVE-2026-0003", "pkg:oci/app"), finding, Source{}, false},
		{"pkg:oci by tag", fixed("CVE-2026-0003", "pkg:oci/app?tag=latest"), finding, Source{}, false},
		{"a sha-256 hash", `{"vulnerability": {"name": "CVE-2026-0003"}, "status": "fixed", "products": [{"hashes": {"sha-256": "` + hexA + `"}}]}`, finding, Source{}, true},
		{"a purl identifier", `{"vulnerability": {"name": "CVE-2026-0003"}, "status": "fixed", "products": [{"identifiers": {"purl": "` + purlA + `"}}]}`, finding, Source{}, true},
		{"subcomponent the finding names", `{"vulnerability": {"name": "CVE-2026-0003"}, "status": "fixed", "products": [{"@id": "` + digestA + `", "subcomponents": [{"@id": "pkg:golang/golang.org/x/crypto"}]}]}`, finding, Source{}, true},
		{"subcomponent the finding does not name", `{"vulnerability": {"name": "CVE-2026-0003"}, "status": "fixed", "products": [{"@id": "` + digestA + `", "subcomponents": [{"@id": "pkg:golang/stdlib"}]}]}`, finding, Source{}, false},
		{"subcomponent, finding without a purl", `{"vulnerability": {"name": "CVE-2026-0003"}, "status": "fixed", "products": [{"@id": "` + digestA + `", "subcomponents": [{"@id": "pkg:golang/golang.org/x/crypto"}]}]}`, Finding{ID: "CVE-2026-0003"}, Source{}, false},
		{"the package as product", fixed("CVE-2026-0003", crypto), finding, Source{}, true},
		{"another version of the package", fixed("CVE-2026-0003", "pkg:golang/golang.org/x/crypto@v0.31.0"), finding, Source{}, false},
		{"inherited attestation subject", stmt("CVE-2026-0003", "", "fixed"), finding, Source{Subjects: []string{digestA}}, true},
		{"inherited subject of another image", stmt("CVE-2026-0003", "", "fixed"), finding, Source{Subjects: []string{digestB}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet(mustParse(t, doc(t1, tt.statement), tt.src))
			d, ok := s.Decide(img, tt.finding)
			if ok != tt.match {
				t.Fatalf("applies = %v, want %v (%+v)", ok, tt.match, d)
			}
			if ok && d.Product == "" {
				t.Error("the decision does not say which product matched")
			}
		})
	}
}

// TestDigestIsOfTheSignedBytes: the note's document digest is of the bytes
// as given, so an auditor can find the exact document.
func TestDigestIsOfTheSignedBytes(t *testing.T) {
	a := doc(t1, stmt("CVE-1", digestA, "fixed"))
	var v map[string]any
	if err := json.Unmarshal(a, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	da, db := mustParse(t, a, Source{}), mustParse(t, b, Source{})
	if da.Digest == db.Digest {
		t.Errorf("two encodings of one document have one digest %s", da.Digest)
	}
}
