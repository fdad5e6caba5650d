package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	secoci "github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/vex"
	"github.com/security-gate/security-gate/pkg/vuln"
)

// Bounds on VEX: a document larger than maxVEXBytes is refused (a
// violation); at most maxVEXNotes dropped findings are noted one by one per
// image and attestation, the rest counted.
const (
	maxVEXBytes = 4 << 20
	maxVEXNotes = 100
)

// vexTypes are the predicate types of OpenVEX attestations.
var vexTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range vex.PredicateTypes {
		m[t] = true
	}
	return m
}()

// vexRule is attestations[].vulnerabilities.vex, compiled.
type vexRule struct {
	auths     []*authority
	documents []name.Digest
	fp        string
}

// extras holds the compiled VEX rules (by attestation name) and
// images.acceptSummaries.
type extras struct {
	vex       map[string]*vexRule
	summaries *summaryRule
}

// compileExtras compiles the VEX rules and images.acceptSummaries of spec;
// lookup compiles authority names as New does.
func (v *Verifier) compileExtras(spec *v1alpha1.SecurityGateSpec, lookup func(field string, names []string) ([]*authority, error)) error {
	v.extras.vex = map[string]*vexRule{}
	for i := range spec.Attestations {
		a := &spec.Attestations[i]
		if a.Vulnerabilities == nil || a.Vulnerabilities.VEX == nil {
			continue
		}
		field := fmt.Sprintf("spec.attestations[%d].vulnerabilities.vex", i)
		vp := a.Vulnerabilities.VEX
		auths, err := lookup(field+".authorities", vp.Authorities)
		if err != nil {
			return err
		}
		if len(auths) == 0 {
			return fmt.Errorf("%s.authorities: no authority may sign VEX", field)
		}
		r := &vexRule{auths: auths}
		for j, ref := range vp.Documents {
			d, err := name.NewDigest(ref, name.StrictValidation)
			if err != nil {
				return fmt.Errorf("%s.documents[%d]: %q: %w", field, j, ref, err)
			}
			r.documents = append(r.documents, d)
		}
		r.fp = fingerprintOf(auths, "vex-documents="+strings.Join(vp.Documents, ","))
		v.extras.vex[a.Name] = r
	}
	if spec.Images != nil && spec.Images.AcceptSummaries != nil {
		s, err := compileSummaries(spec.Images.AcceptSummaries, lookup)
		if err != nil {
			return err
		}
		v.extras.summaries = s
	}
	return nil
}

// vexStatements is what the cache keeps of the VEX of one image for one
// rule: the trusted documents, what was present but not trusted, and the
// attestations and documents read (for verification summaries).
type vexStatements struct {
	set       *vex.Set
	untrusted []string
	evidence  []gate.Evidence
}

// readVEX reads the VEX that may apply to m for rule (nil: a rule without
// vulnerabilities.vex, for which only untrusted presence is noted).
// Malformed trusted VEX and policy documents that are missing or not
// signed by the rule's authorities are findings (violations); registry
// failures are errors (could not decide).
func (v *Verifier) readVEX(ctx context.Context, m *material, attestation string, rule *vexRule) (outcome, error) {
	if rule == nil {
		present, err := presentStatements(ctx, m, vexTypes)
		if err != nil {
			return outcome{}, err
		}
		return outcome{value: &vexStatements{untrusted: present}}, nil
	}
	out := &vexStatements{set: vex.NewSet()}
	var findings []string
	signed, untrusted, err := v.signedStatements(ctx, m, vexTypes, rule.auths)
	if err != nil {
		return outcome{}, err
	}
	out.untrusted = untrusted
	for _, s := range signed {
		var subjects []string
		for _, sub := range s.st.Subject {
			if h := sub.Digest["sha256"]; h != "" {
				subjects = append(subjects, "sha256:"+h)
			}
		}
		doc, err := vex.Parse(s.st.Predicate, vex.Source{
			Location:  fmt.Sprintf("OpenVEX attestation (%s) on %s", s.where, m.digest.DigestStr()),
			Authority: s.authority, Subjects: subjects,
		})
		if err != nil {
			findings = append(findings, fmt.Sprintf("attestation %q: the OpenVEX attestation in %s of %s, signed by authority %s, cannot be applied: %v",
				attestation, s.where, m.digest.DigestStr(), s.authority, err))
			continue
		}
		out.set.Add(doc)
		out.evidence = append(out.evidence, gate.Evidence{URI: s.uri, Digest: s.digest})
	}
	for _, d := range rule.documents {
		doc, ev, finding, err := v.readVEXDocument(ctx, d, rule)
		if err != nil {
			return outcome{}, err
		}
		if finding != "" {
			findings = append(findings, fmt.Sprintf("attestation %q: vulnerabilities.vex.documents: %s", attestation, finding))
			continue
		}
		out.set.Add(doc)
		out.evidence = append(out.evidence, ev)
	}
	return outcome{findings: findings, value: out}, nil
}

// readVEXDocument reads a VEX document the policy names: an OCI artifact
// by digest, signed with cosign by one of the rule's authorities, with one
// layer holding an OpenVEX document.
func (v *Verifier) readVEXDocument(ctx context.Context, d name.Digest, rule *vexRule) (*vex.Document, gate.Evidence, string, error) {
	img, err := v.client.Image(ctx, d)
	var layerCount int
	if err == nil {
		var ls int
		if mf, merr := img.Manifest(); merr != nil {
			err = merr
		} else {
			ls = len(mf.Layers)
		}
		layerCount = ls
	}
	if err != nil {
		if secoci.IsNotFound(err) {
			return nil, gate.Evidence{}, fmt.Sprintf("%s does not exist", d), nil
		}
		var tl *secoci.TooLargeError
		if errors.As(err, &tl) {
			return nil, gate.Evidence{}, fmt.Sprintf("%s: %v", d, tl), nil
		}
		return nil, gate.Evidence{}, "", fmt.Errorf("reading VEX document %s: %w", d, err)
	}
	if layerCount != 1 {
		return nil, gate.Evidence{}, fmt.Sprintf("%s has %d layers; a VEX artifact holds one OpenVEX document", d, layerCount), nil
	}
	dm, err := newMaterial(v.client, d)
	if err != nil {
		return nil, gate.Evidence{}, "", err
	}
	o, err := v.verifySignature(ctx, dm, rule.auths)
	if err != nil {
		return nil, gate.Evidence{}, "", fmt.Errorf("VEX document %s: verifying its signature: %w", d, err)
	}
	if len(o.findings) > 0 {
		return nil, gate.Evidence{}, fmt.Sprintf("VEX document %s is not trusted: %s", d, strings.Join(o.findings, "; ")), nil
	}
	by, _ := o.value.(signedBy)
	layers, err := img.Layers()
	if err != nil {
		return nil, gate.Evidence{}, "", fmt.Errorf("reading VEX document %s: %w", d, err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil, gate.Evidence{}, "", fmt.Errorf("reading VEX document %s: %w", d, err)
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxVEXBytes+1))
	_ = rc.Close()
	if err != nil {
		var tl *secoci.TooLargeError
		if errors.As(err, &tl) {
			return nil, gate.Evidence{}, fmt.Sprintf("%s: %v", d, tl), nil
		}
		return nil, gate.Evidence{}, "", fmt.Errorf("reading VEX document %s: %w", d, err)
	}
	if len(raw) > maxVEXBytes {
		return nil, gate.Evidence{}, fmt.Sprintf("%s: the document is larger than %d bytes", d, maxVEXBytes), nil
	}
	doc, err := vex.Parse(raw, vex.Source{Location: d.String(), Authority: by.Authority})
	if err != nil {
		return nil, gate.Evidence{}, fmt.Sprintf("%s, signed by authority %s, cannot be applied: %v", d, by.Authority, err), nil
	}
	return doc, gate.Evidence{URI: d.String(), Digest: doc.Digest}, "", nil
}

// applyVEX returns copies of atts whose scans no longer hold the findings
// the trusted VEX drops, with a note for each dropped finding (and for VEX
// present but not trusted). The cached attestations are never changed.
func applyVEX(attestation string, atts []*verifiedAtt, vs *vexStatements, img vex.Image, hasRule bool) ([]*verifiedAtt, []gate.Note) {
	var notes []gate.Note
	if len(vs.untrusted) > 0 {
		why := "attestations[].vulnerabilities.vex is not set for this attestation"
		if hasRule {
			why = "it is not signed by vulnerabilities.vex.authorities"
		}
		notes = append(notes, gate.Note{Check: gate.CheckVulnerabilities, Message: fmt.Sprintf(
			"attestation %q: VEX was present on %s but not trusted (%s), so it changed nothing: %s",
			attestation, img.Digest, why, strings.Join(vs.untrusted, "; "))})
	}
	if vs.set.Len() == 0 {
		return atts, notes
	}
	out := make([]*verifiedAtt, len(atts))
	dropped := 0
	for i, va := range atts {
		out[i] = va
		if va.Scan == nil {
			continue
		}
		kept := make([]vuln.Finding, 0, len(va.Scan.Findings))
		for _, f := range va.Scan.Findings {
			d, ok := vs.set.Decide(img, vex.Finding{ID: f.ID, Aliases: f.Aliases, PURL: f.PURL})
			if !ok || !d.Drop {
				kept = append(kept, f)
				continue
			}
			if dropped++; dropped <= maxVEXNotes {
				notes = append(notes, vexNote(attestation, f, d))
			}
		}
		if len(kept) != len(va.Scan.Findings) {
			c := *va
			scan := *va.Scan
			scan.Findings = kept
			c.Scan = &scan
			out[i] = &c
		}
	}
	if dropped > maxVEXNotes {
		notes = append(notes, gate.Note{Check: gate.CheckVulnerabilities, Message: fmt.Sprintf(
			"attestation %q: and %d more findings dropped by VEX on %s", attestation, dropped-maxVEXNotes, img.Digest)})
	}
	return out, notes
}

func vexNote(attestation string, f vuln.Finding, d vex.Decision) gate.Note {
	pkg := f.PURL
	if pkg == "" {
		pkg = f.Package
	}
	why := d.Justification
	if why == "" {
		why = d.ImpactStatement
	}
	msg := fmt.Sprintf("attestation %q: %s (%s) dropped: VEX says %s", attestation, f.ID, f.Severity, d.Status)
	if why != "" {
		msg += " (" + why + ")"
	}
	msg += fmt.Sprintf(" for %s; statement by %s, document %s, signed by authority %s (%s)", d.Product, d.Author, d.Document, d.Authority, d.Location)
	return gate.Note{Check: gate.CheckVulnerabilities, Message: msg, VEX: &gate.VEXNote{
		Vulnerability: f.ID, Severity: string(f.Severity), Package: pkg, Product: d.Product, Status: d.Status,
		Justification: d.Justification, ImpactStatement: d.ImpactStatement, Author: d.Author, Authority: d.Authority,
		Document: d.Document, Source: d.Location, Attestation: attestation,
	}}
}

// hasFindings reports whether any verified scan holds a finding: only then
// is VEX worth reading.
func hasFindings(atts []*verifiedAtt) bool {
	for _, va := range atts {
		if va.Scan != nil && len(va.Scan.Findings) > 0 {
			return true
		}
	}
	return false
}
