package provenance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// Rule names the rule a finding is about.
type Rule string

const (
	RuleSubject     Rule = "subject"
	RuleBuilder     Rule = "builder"
	RuleRunBinding  Rule = "run-binding"
	RuleTrustedCode Rule = "trusted-code"
	RuleSource      Rule = "source"
)

// Finding is one rule a provenance does not meet, or could not be judged on.
type Finding struct {
	Rule    Rule
	Message string
}

// Result is the judgement of the provenance of one artifact.
type Result struct {
	// Violations are the rules not met. Empty together with Undecided: the
	// provenance passed.
	Violations []Finding
	// Undecided are the rules that could not be judged (a bundle whose
	// signature could not be checked). Never a pass.
	Undecided []Finding
	// Notes say what was accepted without a comparison, e.g. the TaskRun a
	// provenance names when there is no run to compare it with.
	Notes []string
	// Provenance is the statement the result is about; with several, the
	// one that passed, else the last judged.
	Provenance *Statement
}

// Passed reports whether the provenance met every rule.
func (r Result) Passed() bool { return len(r.Violations) == 0 && len(r.Undecided) == 0 }

// Target is the artifact whose provenance is judged, and the run that must
// have built it.
type Target struct {
	// Artifact names it in messages, e.g. registry/app@sha256:….
	Artifact string
	// Digest is sha256:<hex>; a subject must have exactly this digest.
	Digest string
	// TaskRun is the TaskRun of this PipelineRun that produced the
	// artifact. Nil when there is no run (an offline check): the binding
	// rule then only requires that the provenance names a TaskRun.
	TaskRun *TaskRun
}

// TaskRun identifies the TaskRun that built the artifact.
type TaskRun struct {
	Namespace, Name string
	UID             string
}

func (t *TaskRun) String() string {
	return fmt.Sprintf("TaskRun %s/%s (uid %s)", t.Namespace, t.Name, t.UID)
}

// BundleVerifier verifies the signature of a Tekton bundle, given by digest
// (registry/repository@sha256:<hex>), against the policy's
// bundles.authorities. It returns why the bundle is not trusted (empty: it
// is), or an error when that could not be decided (registry trouble). The
// engine supplies it, so the bundle is verified exactly as the gate verifies
// pipeline bundles.
type BundleVerifier func(ctx context.Context, digestRef string) (problems []string, err error)

// Rules are a policy's spec.provenance, compiled.
type Rules struct {
	builders    []string
	binding     bool
	trustedCode bool
	repo        matcher
	rev         matcher
}

// matcher is an exact value or an anchored regular expression; zero matches
// everything.
type matcher struct {
	value string
	re    *regexp.Regexp
	field string // spec.provenance.source.<field>, for messages
}

func (m matcher) set() bool { return m.value != "" || m.re != nil }

func (m matcher) match(s string) bool {
	switch {
	case m.re != nil:
		return m.re.MatchString(s)
	case m.value != "":
		return s == m.value
	}
	return true
}

func (m matcher) String() string {
	if m.re != nil {
		return fmt.Sprintf("%s %q", m.field, strings.TrimSuffix(strings.TrimPrefix(m.re.String(), "^(?:"), ")$"))
	}
	return fmt.Sprintf("%s %q", m.field, m.value)
}

// Compile compiles spec.provenance (defaulted and validated). A nil policy
// is an error: there is nothing to judge with.
func Compile(p *v1alpha1.ProvenancePolicy) (*Rules, error) {
	if p == nil {
		return nil, errors.New("spec.provenance is not set")
	}
	if len(p.BuilderIDs) == 0 {
		return nil, errors.New("spec.provenance.builderIDs is empty: no builder would be accepted")
	}
	r := &Rules{
		builders: append([]string(nil), p.BuilderIDs...),
		// Anything but an explicit Off is the strict reading.
		binding:     p.RunBinding != v1alpha1.ProvenanceOff,
		trustedCode: p.TrustedCode != v1alpha1.ProvenanceOff,
	}
	if s := p.Source; s != nil {
		var err error
		if r.repo, err = compileMatcher(normalizeRepository(s.Repository), s.RepositoryRegExp, "repository", "repositoryRegExp"); err != nil {
			return nil, err
		}
		if r.rev, err = compileMatcher(s.Revision, s.RevisionRegExp, "revision", "revisionRegExp"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func compileMatcher(value, pattern, valueField, patternField string) (matcher, error) {
	if pattern == "" {
		return matcher{value: value, field: "spec.provenance.source." + valueField}, nil
	}
	re, err := v1alpha1.CompileWhole(pattern)
	if err != nil {
		return matcher{}, fmt.Errorf("spec.provenance.source.%s: %v", patternField, err)
	}
	return matcher{re: re, field: "spec.provenance.source." + patternField}, nil
}

// Judge judges every verified provenance statement of one artifact and
// passes when one of them meets every rule: each is a signed, true account
// of a build that produced exactly these bytes, so one trusted build of this
// run is enough. Otherwise it returns the violations of all of them, unless
// one could not be decided: then the artifact is undecided, not failed.
func (r *Rules) Judge(ctx context.Context, sts []*Statement, t Target, verify BundleVerifier) Result {
	if len(sts) == 0 {
		return Result{Violations: []Finding{{Rule: RuleSubject, Message: fmt.Sprintf(
			"%s has no verified SLSA provenance (predicateType %s or %s)", t.Artifact, PredicateSLSA02, PredicateSLSA1)}}}
	}
	var all Result
	for _, st := range sts {
		res := r.Evaluate(ctx, st, t, verify)
		if res.Passed() {
			return res
		}
		all.Violations = append(all.Violations, res.Violations...)
		all.Undecided = append(all.Undecided, res.Undecided...)
		all.Notes = append(all.Notes, res.Notes...)
		all.Provenance = st
	}
	if len(all.Undecided) > 0 {
		for _, v := range all.Violations {
			all.Notes = append(all.Notes, "another provenance of "+t.Artifact+" fails: "+v.Message)
		}
		all.Violations = nil
	}
	return all
}

// Evaluate judges one verified provenance statement for the artifact t.
// verify checks the build task's bundle; it is required when the
// trusted-code rule is on (nil is undecided, never trusted).
func (r *Rules) Evaluate(ctx context.Context, st *Statement, t Target, verify BundleVerifier) Result {
	res := Result{Provenance: st}
	violate := func(rule Rule, format string, args ...any) {
		res.Violations = append(res.Violations, Finding{Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	p := st.Provenance
	if p == nil {
		violate(RuleSubject, "the attestation of %s holds no SLSA provenance", t.Artifact)
		return res
	}
	what := fmt.Sprintf("the SLSA %s provenance of %s", version(p), t.Artifact)

	hex, ok := strings.CutPrefix(t.Digest, "sha256:")
	if !ok || !isHex64(hex) {
		res.Undecided = append(res.Undecided, Finding{Rule: RuleSubject, Message: fmt.Sprintf(
			"%s: the artifact's digest %q is not sha256:<64 hex>", t.Artifact, t.Digest)})
		return res
	}
	if !st.HasDigest(hex) {
		// The caller's signature check already requires the subject; this
		// keeps the rule true whoever calls.
		violate(RuleSubject, "%s is about %s, not exactly %s", what, st.SubjectDigests(), t.Digest)
	}

	if !contains(r.builders, p.BuilderID) {
		violate(RuleBuilder, "%s names builder.id %q, which spec.provenance.builderIDs does not accept (accepted: %s)",
			what, p.BuilderID, strings.Join(r.builders, ", "))
	}

	if r.binding {
		r.judgeBinding(p, t, what, &res, violate)
	}
	if r.trustedCode {
		r.judgeTrustedCode(ctx, p, what, verify, &res, violate)
	}
	if r.repo.set() || r.rev.set() {
		r.judgeSource(p, what, violate)
	}
	return res
}

func version(p *Provenance) string {
	if p.IsV1() {
		return "v1"
	}
	return "v0.2"
}

func (r *Rules) judgeBinding(p *Provenance, t Target, what string, res *Result, violate func(Rule, string, ...any)) {
	run := "this run's TaskRun"
	if t.TaskRun != nil {
		run = t.TaskRun.String()
	}
	switch {
	case !p.IsV1():
		violate(RuleRunBinding, "%s names no TaskRun, so it cannot be bound to %s: SLSA v0.2 (Chains formats in-toto and slsa/v1) "+
			"carries no TaskRun identity; set artifacts.taskrun.format to slsa/v2alpha4 (or slsa/v2alpha3) in chains-config, "+
			"or spec.provenance.runBinding: Off", what, run)
	case p.InvocationID == "":
		violate(RuleRunBinding, "%s has no runDetails.metadata.invocationId, so it cannot be bound to %s", what, run)
	case t.TaskRun == nil:
		res.Notes = append(res.Notes, fmt.Sprintf(
			"%s was made for the TaskRun with uid %s; there is no run to compare it with here (only a gate on the run binds it)",
			what, p.InvocationID))
	case p.InvocationID != t.TaskRun.UID:
		violate(RuleRunBinding, "%s was made for the TaskRun with uid %s, not for %s that produced it in this run: "+
			"the artifact was built by another run", what, p.InvocationID, t.TaskRun)
	}
}

func (r *Rules) judgeTrustedCode(ctx context.Context, p *Provenance, what string, verify BundleVerifier, res *Result, violate func(Rule, string, ...any)) {
	defs := p.Of(KindDefinition)
	if len(defs) == 0 {
		violate(RuleTrustedCode, "%s names no source of the build task (SLSA v1: no resolved dependency %q; SLSA v0.2: no invocation.configSource): "+
			"the Task was embedded or read by name from the cluster, not resolved from a Tekton bundle", what, depTask)
	}
	verified := map[string]bool{}
	for _, d := range defs {
		ref, why := bundleRef(d)
		if why != "" {
			violate(RuleTrustedCode, "%s says the build task came from %s: %s; only a Tekton bundle pinned by digest can be verified against spec.bundles.authorities",
				what, describe(d), why)
			continue
		}
		if verified[ref] {
			continue
		}
		verified[ref] = true
		if verify == nil {
			res.Undecided = append(res.Undecided, Finding{Rule: RuleTrustedCode, Message: fmt.Sprintf(
				"%s: the build task's bundle %s could not be verified: no bundle verifier", what, ref)})
			continue
		}
		problems, err := verify(ctx, ref)
		switch {
		case err != nil:
			res.Undecided = append(res.Undecided, Finding{Rule: RuleTrustedCode, Message: fmt.Sprintf(
				"%s: could not verify the build task's bundle %s: %v", what, ref, err)})
		case len(problems) > 0:
			violate(RuleTrustedCode, "%s says the build task came from bundle %s, which is not signed by spec.bundles.authorities: %s",
				what, ref, strings.Join(problems, "; "))
		}
	}
	for _, d := range p.Of(KindImage) {
		if !isHex64(d.Digest["sha256"]) {
			violate(RuleTrustedCode, "%s lists image %s not pinned by a sha256 digest (digest %s)", what, d.URI, digestString(d.Digest))
		}
	}
}

// bundleRef returns the digest reference of a definition that is a Tekton
// bundle, or why it is not one. Tekton's bundles resolver records the
// repository (no tag) as uri and the manifest digest; the git, hub, http and
// cluster resolvers record URLs or API paths.
func bundleRef(d Dependency) (ref, why string) {
	uri := strings.TrimPrefix(d.URI, "oci://")
	switch {
	case uri == "":
		return "", "no uri"
	case strings.Contains(uri, "://") || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "git+"):
		return "", "not an OCI repository"
	}
	repo, err := name.NewRepository(uri, name.StrictValidation)
	if err != nil {
		return "", "not an OCI repository: " + err.Error()
	}
	hex := d.Digest["sha256"]
	if !isHex64(hex) {
		return "", fmt.Sprintf("not pinned by a sha256 digest (digest %s)", digestString(d.Digest))
	}
	return repo.Digest("sha256:" + hex).String(), ""
}

func (r *Rules) judgeSource(p *Provenance, what string, violate func(Rule, string, ...any)) {
	srcs := p.Of(KindSource)
	if len(srcs) == 0 {
		violate(RuleSource, "%s lists no source repository (git material), so %s cannot be checked: "+
			"have the build task report CHAINS-GIT_URL and CHAINS-GIT_COMMIT results (or an *ARTIFACT_INPUTS object)",
			what, strings.Join(nonEmpty(r.repo, r.rev), " and "))
		return
	}
	for _, d := range srcs {
		repo, rev := normalizeRepository(d.URI), revision(d.Digest)
		if !r.repo.match(repo) {
			violate(RuleSource, "%s lists source %s, whose repository %q does not match %s", what, describe(d), repo, r.repo)
		}
		if !r.rev.match(rev) {
			violate(RuleSource, "%s lists source %s, whose revision %q does not match %s", what, describe(d), rev, r.rev)
		}
	}
}

func nonEmpty(ms ...matcher) []string {
	var out []string
	for _, m := range ms {
		if m.set() {
			out = append(out, m.String())
		}
	}
	return out
}

// normalizeRepository strips what Chains adds to a git URL (the SPDX "git+"
// prefix and a ".git" suffix), so policies compare plain repository URLs.
func normalizeRepository(uri string) string {
	uri = strings.TrimPrefix(uri, "git+")
	return strings.TrimSuffix(uri, ".git")
}

// revision is a source's commit: Chains records it as the sha1 digest.
func revision(digest map[string]string) string {
	for _, alg := range []string{"sha1", "gitCommit", "sha256"} {
		if v := digest[alg]; v != "" {
			return v
		}
	}
	return ""
}

func describe(d Dependency) string {
	s := d.URI
	if s == "" {
		s = `""`
	}
	if len(d.Digest) > 0 {
		s += " (" + digestString(d.Digest) + ")"
	}
	return s
}

func digestString(d map[string]string) string {
	if len(d) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(d))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, k+":"+d[k])
	}
	return strings.Join(parts, ", ")
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
