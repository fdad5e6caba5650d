package output

import (
	"bufio"
	"fmt"

	"github.com/security-gate/security-gate/pkg/gate"
)

// markNote is the marker of a note line in text output.
const markNote = "·"

// writeNotes lists the report's notes (findings a trusted VEX statement
// dropped, VEX present but not trusted, verification summaries accepted or
// written) after the findings, under their own heading: they change no
// verdict, and an auditor reading why a run passed must see them.
func writeNotes(bw *bufio.Writer, r *gate.Report, p func(string, string) string) {
	if len(r.Notes) == 0 {
		return
	}
	fmt.Fprintln(bw, p(ansiBold, "notes (they change no verdict)"))
	for _, n := range r.Notes {
		line := fmt.Sprintf("[%s] ", clean(n.Check))
		if !n.Subject.IsZero() {
			line += clean(n.Subject.String()) + ": "
		}
		line += clean(n.Message)
		fmt.Fprintf(bw, "  %s %s\n", markNote, line)
	}
	fmt.Fprintln(bw)
}

// sarifSuppression is a SARIF 2.1.0 suppression: why a result does not
// count. Its status is left out: absent, it means accepted, and the two
// published 2.1.0 schemas disagree on its name (status, state).
type sarifSuppression struct {
	Kind          string         `json:"kind"`
	Justification string         `json:"justification,omitempty"`
	Properties    map[string]any `json:"properties,omitempty"`
}

// sarifNotes renders the notes: a finding a VEX statement dropped is a
// result of its check with an accepted external suppression (code-scanning
// tools then show it as dismissed, with the statement as the reason); any
// other note is a tool execution notification of level "note".
func sarifNotes(r *gate.Report, index map[string]int, addRule func(id, name, desc string), locations func(gate.Subject) []sarifLocation) ([]sarifResult, []sarifNotification) {
	var results []sarifResult
	var notes []sarifNotification
	for _, n := range r.Notes {
		if n.VEX == nil {
			notes = append(notes, sarifNotification{
				Level: "note", Message: sarifMessage{Text: noteText(n)},
				Descriptor: &sarifDescriptorRef{ID: n.Check}, Locations: locations(n.Subject),
			})
			continue
		}
		if _, ok := index[n.Check]; !ok {
			addRule(n.Check, ruleName(n.Check), "Check "+n.Check+".")
		}
		v := n.VEX
		why := v.Justification
		if why == "" {
			why = v.ImpactStatement
		}
		justification := fmt.Sprintf("VEX %s", v.Status)
		if why != "" {
			justification += ": " + why
		}
		justification += fmt.Sprintf(" (statement by %s, document %s, signed by authority %s)", v.Author, v.Document, v.Authority)
		res := sarifResult{
			RuleID: n.Check, RuleIndex: index[n.Check], Level: "note",
			Message:   sarifMessage{Text: noteText(n)},
			Locations: locations(n.Subject),
			Properties: map[string]any{
				"severity":      "suppressed",
				"vulnerability": v.Vulnerability,
				"product":       v.Product,
			},
			Suppressions: []sarifSuppression{{
				Kind: "external", Justification: justification,
				Properties: map[string]any{
					"vex": v,
				},
			}},
		}
		if n.Task != "" {
			res.Properties["task"] = n.Task
		}
		results = append(results, res)
	}
	return results, notes
}

func noteText(n gate.Note) string {
	if n.Subject.IsZero() {
		return n.Message
	}
	return n.Subject.String() + ": " + n.Message
}
