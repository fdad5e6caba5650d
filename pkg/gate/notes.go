package gate

import (
	"slices"
	"sync"
)

// CheckVerificationSummary is the check id of what concerns verification
// summary attestations (VSA): notes on a summary accepted instead of
// verifying an image, or written after a pass, and the error when one that
// was asked for could not be written.
const CheckVerificationSummary = "verification-summary"

// Note is information for an auditor that changes no verdict: a finding a
// trusted VEX statement dropped, VEX that was present but not trusted, a
// verification summary accepted or written.
type Note struct {
	// Check is the check the note belongs to (CheckVulnerabilities for VEX,
	// CheckVerificationSummary for summaries).
	Check string `json:"check"`
	// Subject is the image, as the run wrote it, or the policy.
	Subject Subject `json:"subject"`
	Message string  `json:"message"`
	// VEX is set on a note about a finding a VEX statement dropped.
	VEX *VEXNote `json:"vex,omitempty"`

	// Task groups the note for people, as Finding.Task.
	Task string `json:"-"`
}

// VEXNote says which statement dropped which finding, and whose it was.
type VEXNote struct {
	// Vulnerability is the finding's id.
	Vulnerability string `json:"vulnerability"`
	// Severity is the finding's severity in the scan.
	Severity string `json:"severity,omitempty"`
	// Package is the affected package (its purl when the scan gives one).
	Package string `json:"package,omitempty"`
	// Product says how the statement named the image or the package.
	Product string `json:"product"`
	// Status is not_affected or fixed.
	Status string `json:"status"`
	// Justification and ImpactStatement say why (not_affected).
	Justification   string `json:"justification,omitempty"`
	ImpactStatement string `json:"impactStatement,omitempty"`
	// Author is the VEX document's author; Authority the policy authority
	// whose signature verified.
	Author    string `json:"author"`
	Authority string `json:"authority"`
	// Document is sha256:<hex> of the VEX document; Source where it was
	// read (an attestation on the image, or an artifact the policy names).
	Document string `json:"document"`
	Source   string `json:"source"`
	// Attestation is the spec.attestations entry whose scan it was.
	Attestation string `json:"attestation"`
}

// Evidence is one signed attestation or document a verdict on an image
// relied on: what a verification summary lists as its input attestations.
type Evidence struct {
	// URI locates it (the .att tag or the referrer manifest, or the VEX
	// artifact).
	URI string
	// Digest is sha256:<hex> of the attestation (DSSE envelope or Sigstore
	// bundle) or document as stored.
	Digest string
}

// noteSet collects the notes and evidence of one run; its zero value is
// ready for use.
type noteSet struct {
	mu       sync.Mutex
	notes    []Note
	evidence map[string][]Evidence
}

// addImage records what VerifyImage returned besides findings for the
// image at digest d, written img by the run and used by task.
func (s *noteSet) addImage(d, task, img string, res ImageResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range res.Notes {
		if n.Task == "" {
			n.Task = task
		}
		if n.Subject.IsZero() {
			n.Subject = ImageSubject(img)
		}
		s.notes = append(s.notes, n)
	}
	if len(res.Evidence) > 0 {
		if s.evidence == nil {
			s.evidence = map[string][]Evidence{}
		}
		s.evidence[d] = append(s.evidence[d], res.Evidence...)
	}
}

// fill puts the notes (deduplicated, sorted) and evidence into rep.
func (s *noteSet) fill(rep *Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct {
		check, subject, message string
		vex                     VEXNote
	}
	seen := map[key]bool{}
	for _, n := range s.notes {
		k := key{check: n.Check, subject: n.Subject.String(), message: n.Message}
		if n.VEX != nil {
			k.vex = *n.VEX
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		rep.Notes = append(rep.Notes, n)
	}
	SortNotes(rep.Notes)
	if len(s.evidence) > 0 {
		rep.Evidence = map[string][]Evidence{}
		for d, e := range s.evidence {
			rep.Evidence[d] = append([]Evidence(nil), e...)
		}
	}
}

// SortNotes orders notes by task, subject, check, message, so reports are
// reproducible.
func SortNotes(ns []Note) {
	slices.SortStableFunc(ns, func(a, b Note) int {
		return comparePlace(a.Task, a.Subject, a.Check, a.Message, b.Task, b.Subject, b.Check, b.Message)
	})
}
