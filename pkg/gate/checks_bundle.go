package gate

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/transient"
)

// refField names the field that holds a bundle reference, as the author
// wrote it: the legacy `bundle:` field or the resolver's bundle param.
func refField(field string, legacy bool) string {
	if legacy {
		return field + ".bundle"
	}
	return field + ".params.bundle"
}

// checkBundleRef applies the `bundle` rules to one pipelineRef or taskRef
// (field names it for messages). exempt skips bundles.required (the gate's
// own task, a StepAction ref) but not the rules on a bundle reference that
// is written. It reports whether the reference may be resolved: a malformed
// bundle reference can be neither pinned nor read.
func (r *run) checkBundleRef(ref Ref, field string, legacy bool, task string, exempt bool) bool {
	if ref.Resolver != bundlesResolver {
		if r.bundlesRequired() && !exempt {
			how := fmt.Sprintf("references %s %q by name", ref.Kind, ref.Name)
			if ref.Resolver != "" {
				how = fmt.Sprintf("uses the %q resolver", ref.Resolver)
			}
			r.violation(CheckBundle, task, ref.Subject,
				"%s %s, not a Tekton bundle: bundles.required wants resolver: bundles with params bundle, name and kind", field, how)
		}
		return true
	}
	bf := refField(field, legacy)
	if ref.Bundle == "" {
		r.violation(CheckBundle, task, ref.Subject, "%s uses resolver: bundles without a bundle param: want the bundle image reference", field)
		return false
	}
	r.bundleRefs[ref.Bundle] = true
	if ref.Name == "" {
		r.violation(CheckBundle, task, ref.Subject, "%s uses resolver: bundles without a name param: want the name of the %s in the bundle", field, ref.Kind)
		return false
	}
	if expr := unresolvedExpr(ref.Bundle); expr != "" {
		r.violation(CheckBundle, task, ref.Subject, "%s %q depends on %s (%s), which is not known before the run: want a fixed bundle reference",
			bf, ref.Bundle, describeExpr(expr), expr)
		return false
	}
	parsed, err := name.ParseReference(ref.Bundle)
	if err != nil {
		r.violation(CheckBundle, task, ref.Subject, "%s %q is not a valid image reference: %v", bf, ref.Bundle, err)
		return false
	}
	if r.bundlesRequireDigest() {
		if _, ok := parsed.(name.Digest); !ok {
			r.violation(CheckBundle, task, ref.Subject, "%s %q is not pinned by digest: bundles.requireDigest wants repo@sha256:…", bf, ref.Bundle)
		}
	}
	return true
}

// bundleState is the outcome of pinning one bundle reference and verifying
// its signature at that digest; findings are re-emitted for every user of
// the reference (duplicates are dropped in the report).
type bundleState struct {
	digest   string
	ok       bool
	findings []Finding
}

// bundleVerification caches VerifyBundle per digest.
type bundleVerification struct {
	once     sync.Once
	findings []Finding
	err      error
}

func (r *run) bundleKey(ref Ref) string {
	if _, ok := r.e.opts.Resolver.(BundlePinner); ok {
		return "pin\x00" + refKey(ref)
	}
	return "tag\x00" + ref.Bundle
}

// prepareBundles pins and verifies the given bundle references on the
// worker pool, so a pipeline of many bundled tasks does not wait for each
// registry round trip in turn. Results land in the cache pinBundle reads.
func (r *run) prepareBundles(refs []Ref) {
	var todo []Ref
	seen := map[string]bool{}
	for _, ref := range refs {
		k := r.bundleKey(ref)
		if _, ok := r.bundles[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		todo = append(todo, ref)
	}
	if len(todo) < 2 {
		return // pinBundle does a single one inline
	}
	states := make([]*bundleState, len(todo))
	r.forEach(len(todo), func(i int) { states[i] = r.computeBundle(todo[i]) })
	for i, ref := range todo {
		r.bundles[r.bundleKey(ref)] = states[i]
	}
}

// pinBundle returns the digest form at which ref is read. It never
// re-resolves a tag: the digest is fixed once per run and the signature is
// verified at that digest.
func (r *run) pinBundle(ref Ref, task string) (string, bool) {
	k := r.bundleKey(ref)
	st, ok := r.bundles[k]
	if !ok {
		st = r.computeBundle(ref)
		r.bundles[k] = st
	}
	for _, f := range st.findings {
		if f.Task == "" {
			f.Task = task
		}
		if f.Subject.IsZero() {
			f.Subject = ref.Subject
		}
		r.add(f)
	}
	return st.digest, st.ok
}

// computeBundle pins and verifies one reference. It touches no run state
// but the per-digest verification cache (under mu), so it may run on the
// pool.
func (r *run) computeBundle(ref Ref) *bundleState {
	st := &bundleState{digest: ref.Bundle, ok: true}
	subject := ref.Subject
	var pinErr error
	// pinnerFailed: the error came from the Resolver (what Tekton resolved,
	// e.g. ResolutionRequests it may not read), not from a registry.
	pinned, pinnerFailed := false, false
	if p := r.pinner(); p != nil {
		// A pinner that does not know this reference (ErrUnsupported) leaves
		// it to the verifier, as when there is no pinner at all.
		d, err := p.PinBundle(r.ctx, ref)
		switch {
		case err == nil:
			st.digest, pinned = d, true
		case !errors.Is(err, ErrUnsupported):
			pinErr, pinnerFailed = err, true
		}
	}
	if !pinned && pinErr == nil {
		if r.e.opts.Verifier == nil {
			if r.bundleAuthorities() {
				st.findings = append(st.findings, Finding{Check: CheckUnresolved, Subject: subject, Severity: SeverityViolation,
					Message: fmt.Sprintf("signature of bundle %s not verified: no registry verifier is configured and bundles.authorities requires one", ref.Bundle)})
			}
			return st
		}
		st.digest, pinErr = r.e.opts.Verifier.ResolveDigest(r.ctx, ref.Bundle)
	}
	if pinErr != nil {
		st.ok = false
		needed := r.needTaskContent()
		if ref.Kind == KindPipeline {
			needed = r.needPipelineContent()
		}
		switch {
		case errors.Is(pinErr, ErrNotFound), errors.Is(pinErr, ErrUnsupported):
			st.findings = append(st.findings, Finding{Check: CheckUnresolved, Subject: subject, Severity: needSeverity(needed),
				Message: fmt.Sprintf("bundle %s could not be resolved to a digest: %v", ref.Bundle, pinErr)})
		case pinnerFailed:
			st.findings = append(st.findings, Finding{Check: CheckUnresolved, Subject: subject, Severity: SeverityError, Transient: transient.Is(pinErr),
				Message: fmt.Sprintf("could not decide: finding the digest at which bundle %s was resolved failed: %v", ref.Bundle, pinErr)})
		default:
			st.findings = append(st.findings, Finding{Check: CheckRegistry, Subject: subject, Severity: SeverityError, Transient: transient.Is(pinErr),
				Message: fmt.Sprintf("could not decide: resolving bundle %s to a digest failed: %v", ref.Bundle, pinErr)})
		}
		return st
	}
	if !strings.Contains(st.digest, "@sha256:") && !strings.Contains(st.digest, "@sha512:") {
		st.ok = false
		st.findings = append(st.findings, Finding{Check: CheckRegistry, Subject: subject, Severity: SeverityError,
			Message: fmt.Sprintf("could not decide: bundle %s was pinned to %q, which is not a digest reference", ref.Bundle, st.digest)})
		return st
	}
	if !r.bundleAuthorities() {
		return st
	}
	if r.e.opts.Verifier == nil {
		st.findings = append(st.findings, Finding{Check: CheckUnresolved, Subject: subject, Severity: SeverityViolation,
			Message: fmt.Sprintf("signature of bundle %s not verified: no registry verifier is configured and bundles.authorities requires one", st.digest)})
		return st
	}
	v := r.verifyBundleDigest(st.digest)
	st.findings = append(st.findings, v.findings...)
	if v.err != nil {
		st.ok = false
		st.findings = append(st.findings, Finding{Check: CheckBundleSignature, Subject: ImageSubject(st.digest), Severity: SeverityError, Transient: transient.Is(v.err),
			Message: fmt.Sprintf("could not decide: verifying the signature of bundle %s failed: %v", st.digest, v.err)})
	}
	return st
}

func (r *run) pinner() BundlePinner {
	p, _ := r.e.opts.Resolver.(BundlePinner)
	return p
}

func (r *run) verifyBundleDigest(digest string) *bundleVerification {
	r.mu.Lock()
	v, ok := r.bundleDigests[digest]
	if !ok {
		v = &bundleVerification{}
		r.bundleDigests[digest] = v
	}
	r.mu.Unlock()
	// Two tags may pin to one digest on different workers: once per digest.
	v.once.Do(func() { v.findings, v.err = r.e.opts.Verifier.VerifyBundle(r.ctx, digest) })
	return v
}
