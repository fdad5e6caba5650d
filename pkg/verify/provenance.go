package verify

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/provenance"
	"github.com/security-gate/security-gate/pkg/transient"
)

// provRule is spec.provenance, compiled.
type provRule struct {
	rules *provenance.Rules
	auths []*authority
	fp    string
}

// provenanceTypes are the predicate types Tekton Chains writes for a
// TaskRun: SLSA v0.2 (formats in-toto, slsa/v1) and v1 (slsa/v2alpha3,
// slsa/v2alpha4).
var provenanceTypes = map[string]bool{provenance.PredicateSLSA02: true, provenance.PredicateSLSA1: true}

// compileProvenance compiles spec.provenance; lookup compiles authority
// names as New does. It runs after bundles.authorities are compiled.
func (v *Verifier) compileProvenance(spec *v1alpha1.SecurityGateSpec, lookup func(string, []string) ([]*authority, error)) error {
	p := spec.Provenance
	if p == nil {
		return nil
	}
	rules, err := provenance.Compile(p)
	if err != nil {
		return err
	}
	field := "spec.provenance.authorities"
	if len(p.Authorities) == 0 {
		field = "spec.images.authorities"
	}
	auths, err := lookup(field, spec.ProvenanceAuthorities())
	if err != nil {
		return err
	}
	if len(auths) == 0 {
		return fmt.Errorf("spec.provenance: no authority may sign the provenance (set provenance.authorities, or images.authorities)")
	}
	if p.TrustedCode != v1alpha1.ProvenanceOff && len(v.bundleAuths) == 0 {
		// No bundle could ever be shown to be signed: refuse the policy
		// rather than trust every build task.
		return fmt.Errorf("spec.provenance.trustedCode %s verifies the build task's bundle against spec.bundles.authorities, which is empty",
			v1alpha1.ProvenanceRequired)
	}
	v.prov = &provRule{rules: rules, auths: auths, fp: fingerprintOf(auths, "provenance")}
	return nil
}

// signedProvenance is what the cache keeps of one digest: every SLSA
// provenance statement on it, in both layouts, verified against the
// provenance authorities and parsed. The rules are applied to it on every
// call: the run it must be bound to differs from call to call.
type signedProvenance struct {
	statements []*provenance.Statement
	from       map[*provenance.Statement]signedStatement
}

// VerifyImage implements gate.ArtifactVerifier: the image's signature and
// attestations (verifyImage), and, for an artifact the gate received whose
// build it knows (t.Build) when the policy has spec.provenance, its signed
// provenance. A verification summary or images.exclude never stands in for
// the provenance: it binds the artifact to this run's build, which neither
// can say.
func (v *Verifier) VerifyImage(ctx context.Context, t gate.ImageTarget) (gate.ImageResult, error) {
	res, err := v.verifyImage(ctx, t)
	if err != nil || t.Build == nil || v.prov == nil {
		return res, err
	}
	d, err := name.NewDigest(t.Digest)
	if err != nil {
		return gate.ImageResult{}, fmt.Errorf("image %s: %q is not a digest reference: %w", t.Ref, t.Digest, err)
	}
	subject := t.Ref
	if subject == "" {
		subject = t.Digest
	}
	prov, err := v.judgeProvenance(ctx, d, subject, t.Build)
	if err != nil {
		return gate.ImageResult{}, err
	}
	imageChecked := !res.Excluded && (len(v.imageAuths) > 0 || len(v.rules) > 0)
	if res.Excluded {
		res.Excluded = false
		res.Notes = append(res.Notes, gate.Note{Check: gate.CheckProvenance, Subject: gate.ImageSubject(subject),
			Message: "images.exclude matched: its signature and attestations were not checked, its provenance was"})
	}
	res.Findings = append(res.Findings, prov.Findings...)
	res.Notes = append(res.Notes, prov.Notes...)
	res.Evidence = append(res.Evidence, prov.Evidence...)
	res.Verified = (res.Verified || !imageChecked) && prov.Verified
	return res, nil
}

// judgeProvenance reads the verified provenance of d (cached) and judges
// it against spec.provenance for the build b.
func (v *Verifier) judgeProvenance(ctx context.Context, d name.Digest, subject string, b *gate.Build) (gate.ImageResult, error) {
	o, err := v.cache.do(ctx, key(d, gate.CheckProvenance, v.prov.fp), func(ctx context.Context) (outcome, error) {
		m, err := newMaterial(v.client, d)
		if err != nil {
			return outcome{}, err
		}
		return v.readProvenance(ctx, m)
	})
	if err != nil {
		return gate.ImageResult{}, fmt.Errorf("image %s: reading the SLSA provenance of %s: %w", subject, d.DigestStr(), err)
	}
	var res gate.ImageResult
	add := func(sev gate.Severity, mayPass bool, msg string) {
		res.Findings = append(res.Findings, gate.Finding{Check: gate.CheckProvenance, Subject: gate.ImageSubject(subject), Message: msg, Severity: sev, Transient: mayPass})
	}
	for _, f := range o.findings {
		add(gate.SeverityViolation, false, f)
	}
	sp, _ := o.value.(*signedProvenance)
	if sp == nil {
		// Findings only: nothing verified (never cached, so a provenance
		// pushed later is seen).
		return res, nil
	}
	target := provenance.Target{Artifact: d.String(), Digest: d.DigestStr()}
	if run := b.TaskRun; run != nil {
		target.TaskRun = &provenance.TaskRun{Namespace: run.Namespace, Name: run.Name, UID: run.UID}
	}
	var wasTransient atomic.Bool
	verdict := v.prov.rules.Judge(ctx, sp.statements, target, v.bundleVerifier(&wasTransient))
	for _, f := range verdict.Violations {
		add(gate.SeverityViolation, false, f.Message)
	}
	for _, f := range verdict.Undecided {
		add(gate.SeverityError, wasTransient.Load(), "could not decide: "+f.Message)
	}
	for _, n := range verdict.Notes {
		res.Notes = append(res.Notes, gate.Note{Check: gate.CheckProvenance, Subject: gate.ImageSubject(subject), Message: n})
	}
	if verdict.Passed() && verdict.Provenance != nil {
		from := sp.from[verdict.Provenance]
		res.Notes = append(res.Notes, gate.Note{Check: gate.CheckProvenance, Subject: gate.ImageSubject(subject), Message: accepted(verdict.Provenance, from, b)})
		if from.digest != "" {
			res.Evidence = append(res.Evidence, gate.Evidence{URI: from.uri, Digest: from.digest})
		}
	}
	res.Verified = len(res.Findings) == 0
	return res, nil
}

// readProvenance verifies every SLSA provenance statement on m against the
// provenance authorities and parses it. A signed statement that does not
// parse is a violation (signed and wrong); no verified statement at all is
// a violation saying what was there instead. Registry trouble is an error.
func (v *Verifier) readProvenance(ctx context.Context, m *material) (outcome, error) {
	signed, untrusted, err := v.signedStatements(ctx, m, provenanceTypes, v.prov.auths)
	if err != nil {
		return outcome{}, err
	}
	sp := &signedProvenance{from: map[*provenance.Statement]signedStatement{}}
	var findings []string
	for _, s := range signed {
		subjects := make([]provenance.Subject, 0, len(s.st.Subject))
		for _, sub := range s.st.Subject {
			subjects = append(subjects, provenance.Subject{Name: sub.Name, Digest: sub.Digest})
		}
		st, err := provenance.NewStatement(s.st.Type, s.st.PredicateType, subjects, s.st.Predicate)
		if err != nil {
			findings = append(findings, fmt.Sprintf("the SLSA provenance in %s of %s, signed by authority %s, cannot be read: %v",
				s.where, m.digest.DigestStr(), s.authority, err))
			continue
		}
		sp.statements = append(sp.statements, st)
		sp.from[st] = s
	}
	if len(sp.statements) == 0 && len(findings) == 0 {
		msg := fmt.Sprintf("%s has no SLSA provenance (predicateType %s or %s) signed by authority %s",
			m.digest, provenance.PredicateSLSA02, provenance.PredicateSLSA1, names(v.prov.auths))
		if len(untrusted) > 0 {
			msg += ": " + strings.Join(untrusted, "; ")
		} else {
			msg += ": there is none in the .att tag or as a Sigstore bundle (has Tekton Chains signed the TaskRun that built it, with OCI storage?)"
		}
		findings = append(findings, msg)
	}
	if len(findings) > 0 {
		// Not cached: a statement fixed or added later is read again.
		return outcome{findings: findings}, nil
	}
	return outcome{value: sp}, nil
}

// bundleVerifier adapts VerifyBundle to pkg/provenance: a violation is why
// the build task's bundle is not trusted, an error is could-not-decide
// (recorded in wasTransient when it may go away).
func (v *Verifier) bundleVerifier(wasTransient *atomic.Bool) provenance.BundleVerifier {
	return func(ctx context.Context, ref string) ([]string, error) {
		fs, err := v.VerifyBundle(ctx, ref)
		if err != nil {
			if transient.Is(err) {
				wasTransient.Store(true)
			}
			return nil, err
		}
		var problems []string
		for _, f := range fs {
			switch f.Severity {
			case gate.SeverityError:
				if f.Transient {
					wasTransient.Store(true)
				}
				return nil, fmt.Errorf("%s", f.Message)
			case gate.SeverityWarning:
			default:
				problems = append(problems, f.Message)
			}
		}
		return problems, nil
	}
}

// accepted says, for the report's notes, which provenance was accepted.
func accepted(st *provenance.Statement, from signedStatement, b *gate.Build) string {
	p := st.Provenance
	version := "v0.2"
	if p.IsV1() {
		version = "v1"
	}
	by := "no run to bind it to here"
	if b.TaskRun != nil {
		by = "built by " + b.TaskRun.String()
	}
	var defs []string
	for _, d := range p.Of(provenance.KindDefinition) {
		defs = append(defs, d.URI+"@sha256:"+d.Digest["sha256"])
	}
	task := ""
	if len(defs) > 0 {
		task = ", build task from " + strings.Join(defs, ", ")
	}
	return fmt.Sprintf("SLSA %s provenance accepted (%s, signed by authority %s): builder %s, %s%s",
		version, from.where, from.authority, p.BuilderID, by, task)
}
