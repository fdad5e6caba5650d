package vex

import (
	"sort"
	"strings"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"
)

// Set is the trusted documents that apply to one image.
type Set struct {
	docs []*Document
	// byID indexes statements by every id they name (name, @id, aliases),
	// upper-cased, so a scan's findings do not each scan every statement.
	byID map[string][]*statement
}

// NewSet collects docs (nil entries are skipped).
func NewSet(docs ...*Document) *Set {
	s := &Set{byID: map[string][]*statement{}}
	s.Add(docs...)
	return s
}

// Add adds documents.
func (s *Set) Add(docs ...*Document) {
	if s.byID == nil {
		s.byID = map[string][]*statement{}
	}
	for _, d := range docs {
		if d == nil {
			continue
		}
		s.docs = append(s.docs, d)
		for i := range d.statements {
			st := &d.statements[i]
			seen := map[string]bool{}
			for _, id := range st.ids() {
				if k := strings.ToUpper(strings.TrimSpace(id)); k != "" && !seen[k] {
					seen[k] = true
					s.byID[k] = append(s.byID[k], st)
				}
			}
		}
	}
}

// Documents returns the documents of the set, in the order they were added.
func (s *Set) Documents() []*Document {
	if s == nil {
		return nil
	}
	return append([]*Document(nil), s.docs...)
}

// Len is the number of documents.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.docs)
}

// Decision is the effective statement about one finding.
type Decision struct {
	// Drop is true for not_affected and fixed.
	Drop bool
	// Vulnerability is the statement's vulnerability name.
	Vulnerability string
	// Product says how the statement named the finding's product.
	Product string
	Status  string
	// Justification and ImpactStatement explain a not_affected status.
	Justification   string
	ImpactStatement string
	// Timestamp is the statement's (or its document's) timestamp.
	Timestamp time.Time
	// Author, DocumentID and Document (sha256:<hex>) name the document;
	// Location and Authority say where it came from and who signed it.
	Author, DocumentID, Document string
	Location, Authority          string
	// Statement is the statement's index in its document.
	Statement int
}

// Decide returns the effective statement about finding f of img: the
// latest applicable statement of every document in the set. ok is false
// when no statement applies.
func (s *Set) Decide(img Image, f Finding) (d Decision, ok bool) {
	if s == nil {
		return Decision{}, false
	}
	type candidate struct {
		st      *statement
		product string
	}
	var all []candidate
	seen := map[*statement]bool{}
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		for _, st := range s.byID[strings.ToUpper(strings.TrimSpace(id))] {
			if seen[st] {
				continue
			}
			seen[st] = true
			if p := st.matchProduct(img, f); p != "" {
				all = append(all, candidate{st, p})
			}
		}
	}
	if len(all) == 0 {
		return Decision{}, false
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].st, all[j].st
		if !a.at.Equal(b.at) {
			return a.at.After(b.at)
		}
		// The same instant: the status that keeps the finding first.
		return keepRank(a.status) > keepRank(b.status)
	})
	w := all[0]
	st := w.st
	return Decision{
		Drop:            st.status == govex.StatusNotAffected || st.status == govex.StatusFixed,
		Vulnerability:   string(st.vulnerability.Name),
		Product:         w.product,
		Status:          string(st.status),
		Justification:   string(st.justification),
		ImpactStatement: st.impact,
		Timestamp:       st.at,
		Author:          st.doc.Author,
		DocumentID:      st.doc.ID,
		Document:        st.doc.Digest,
		Location:        st.doc.Location,
		Authority:       st.doc.Authority,
		Statement:       st.index,
	}, true
}

// keepRank orders statuses by how strongly they keep a finding.
func keepRank(s govex.Status) int {
	switch s {
	case govex.StatusAffected:
		return 3
	case govex.StatusUnderInvestigation:
		return 2
	case govex.StatusFixed:
		return 1
	}
	return 0
}
