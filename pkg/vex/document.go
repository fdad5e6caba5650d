package vex

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"
)

// Predicate types of OpenVEX attestations: `cosign attest --type openvex`
// writes the namespace; vexctl and others the versioned context.
const (
	PredicateType        = "https://openvex.dev/ns"
	PredicateTypeV020    = "https://openvex.dev/ns/v0.2.0"
	ContextV020          = "https://openvex.dev/ns/v0.2.0"
	MaxStatements        = 4096
	maxProductsPerClause = 1024
)

// PredicateTypes lists the predicate types of OpenVEX attestations.
var PredicateTypes = []string{PredicateType, PredicateTypeV020}

// IsPredicateType reports whether t is an OpenVEX predicate type.
func IsPredicateType(t string) bool {
	return t == PredicateType || t == PredicateTypeV020
}

// ErrMalformed is wrapped by every Parse error.
var ErrMalformed = errors.New("malformed OpenVEX document")

// Source says where a document came from and who vouched for it.
type Source struct {
	// Location names it for people: "attestation on repo@sha256:… (bundle
	// sha256:…)" or "repo@sha256:…" for a document published as an artifact.
	Location string
	// Authority is the policy authority whose signature verified.
	Authority string
	// Subjects are the sha256:<hex> digests of the in-toto subjects of the
	// attestation that carried the document; statements without products
	// inherit them. Empty for a document that stands alone.
	Subjects []string
}

// Document is a parsed, complete OpenVEX document.
type Document struct {
	Source
	// Digest is sha256:<hex> of the document's bytes as signed.
	Digest string
	// ID and Author are the document's @id and author.
	ID, Author string
	statements []statement
}

// Statements returns how many statements the document holds.
func (d *Document) Statements() int { return len(d.statements) }

// statement is one complete statement: products resolved, time inherited.
type statement struct {
	doc           *Document
	index         int
	vulnerability govex.Vulnerability
	products      []govex.Product
	// subjects are inherited products (attestation subjects) when the
	// statement names none.
	subjects      []string
	status        govex.Status
	justification govex.Justification
	impact        string
	at            time.Time
}

// Parse reads data as an OpenVEX v0.2.0 document from src. Any problem makes
// the whole document malformed (an error wrapping ErrMalformed that names
// the statement and field); the caller bounds data's size.
func Parse(data []byte, src Source) (*Document, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return nil, fail("not a JSON object")
	}
	var probe struct {
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fail("not valid JSON: %v", err)
	}
	if len(probe.Statements) > MaxStatements {
		return nil, fail("%d statements, more than the %d the gate reads", len(probe.Statements), MaxStatements)
	}
	doc, err := govex.Parse(data)
	if err != nil {
		return nil, fail("%v", err)
	}
	switch {
	case doc.Context != ContextV020:
		return nil, fail("@context %q: want %s", doc.Context, ContextV020)
	case strings.TrimSpace(doc.ID) == "":
		return nil, fail("@id is missing")
	case strings.TrimSpace(doc.Author) == "":
		return nil, fail("author is missing")
	case doc.Timestamp == nil || doc.Timestamp.IsZero():
		return nil, fail("timestamp is missing")
	case doc.Version < 1:
		return nil, fail("version %d: want 1 or more", doc.Version)
	}
	sum := sha256.Sum256(data)
	out := &Document{Source: src, Digest: "sha256:" + hex.EncodeToString(sum[:]), ID: doc.ID, Author: doc.Author}
	for i := range doc.Statements {
		s := &doc.Statements[i]
		at := fmt.Sprintf("statements[%d]", i)
		if err := s.Validate(); err != nil {
			return nil, fail("%s: %v", at, err)
		}
		if strings.TrimSpace(string(s.Vulnerability.Name)) == "" {
			return nil, fail("%s.vulnerability.name is missing", at)
		}
		st := statement{
			doc: out, index: i, vulnerability: s.Vulnerability, status: s.Status,
			justification: s.Justification, impact: s.ImpactStatement, at: *doc.Timestamp,
		}
		if s.Timestamp != nil && !s.Timestamp.IsZero() {
			st.at = *s.Timestamp
		}
		switch {
		case len(s.Products) > maxProductsPerClause:
			return nil, fail("%s.products: %d products, more than %d", at, len(s.Products), maxProductsPerClause)
		case len(s.Products) > 0:
			for j, p := range s.Products {
				if !identifies(p.Component) {
					return nil, fail("%s.products[%d]: no @id, identifiers or hashes", at, j)
				}
				for k, sc := range p.Subcomponents {
					if !identifies(sc.Component) {
						return nil, fail("%s.products[%d].subcomponents[%d]: no @id, identifiers or hashes", at, j, k)
					}
				}
			}
			st.products = s.Products
		case len(src.Subjects) > 0:
			st.subjects = src.Subjects
		default:
			return nil, fail("%s.products is missing, and the document is not in an attestation whose subjects it could inherit", at)
		}
		out.statements = append(out.statements, st)
	}
	return out, nil
}

func identifies(c govex.Component) bool {
	if strings.TrimSpace(c.ID) != "" {
		return true
	}
	for _, v := range c.Identifiers {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	for _, v := range c.Hashes {
		if strings.TrimSpace(string(v)) != "" {
			return true
		}
	}
	return false
}
