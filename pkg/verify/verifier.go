package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/bundle"
	"github.com/security-gate/security-gate/pkg/gate"
	secoci "github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/trustroot"
)

// SecretKeysFunc returns the PEM public keys a key.secretRef points at. The
// controller supplies it; the CLI has none (a secretRef is then an error).
type SecretKeysFunc func(ctx context.Context, ref v1alpha1.SecretKeyRef) ([]byte, error)

// RootFunc returns the Sigstore trusted root used by authorities that need
// one (transparency-log proofs, keyless without trustedRoot.data). Callers
// that may go online can fetch the public-good root here.
type RootFunc func(ctx context.Context) (root.TrustedMaterial, error)

// Options configure a Verifier.
type Options struct {
	// Client reads from registries. When nil, one is built from Keychain,
	// Transport, Timeout and Retries.
	Client    *secoci.Client
	Keychain  authn.Keychain
	Transport http.RoundTripper
	Timeout   time.Duration
	Retries   int
	// Now is the time for maxAge and exception expiry (default time.Now).
	Now func() time.Time
	// Cache keeps successful verifications across runs (default
	// DefaultCache, shared by the process).
	Cache *Cache
	// SecretKeys resolves key.secretRef (controller only).
	SecretKeys SecretKeysFunc
	// SigstoreRoot is the fallback trusted root; nil means the public
	// instance's from TrustRoots, or none (such authorities then cannot
	// decide, never pass).
	SigstoreRoot RootFunc
	// TrustRoots supplies Sigstore trust roots through TUF: the public
	// instance (keyless authorities without trustedRoot.data, keys that
	// require a transparency-log proof) and keyless.tuf repositories. Shared
	// by every Verifier of the process; nil means only trustedRoot.data.
	TrustRoots *trustroot.Pool
	// PublicTUF stands for the public instance when set: an in-cluster
	// mirror of it, or another Sigstore deployment as the default.
	PublicTUF *trustroot.Source
	// Context is used to resolve secrets while compiling (default Background).
	Context context.Context
}

// Verifier implements gate.ArtifactVerifier for one policy.
type Verifier struct {
	client       *secoci.Client
	now          func() time.Time
	cache        *Cache
	sigstoreRoot RootFunc
	images       *v1alpha1.ImagePolicy
	imageAuths   []*authority
	imageFP      string
	bundleAuths  []*authority
	bundleFP     string
	rules        []*attRule
	extras       extras
	prov         *provRule // spec.provenance (provenance.go)
}

var _ gate.ArtifactVerifier = (*Verifier)(nil)

// New compiles spec (defaulted and validated) into a Verifier. An error
// means the policy cannot be used (a bad key, trusted root or secret).
func New(spec *v1alpha1.SecurityGateSpec, opts Options) (*Verifier, error) {
	if spec == nil {
		return nil, errors.New("no policy")
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	roots := &rootSet{pool: opts.TrustRoots, wait: opts.Timeout, publicSrc: opts.PublicTUF}
	v := &Verifier{client: opts.Client, now: opts.Now, cache: opts.Cache, sigstoreRoot: opts.SigstoreRoot}
	if v.sigstoreRoot == nil {
		v.sigstoreRoot = roots.public()
	}
	if v.client == nil {
		c, err := secoci.New(secoci.Options{Keychain: opts.Keychain, Transport: opts.Transport, Timeout: opts.Timeout, Retries: opts.Retries})
		if err != nil {
			return nil, err
		}
		v.client = c
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.cache == nil {
		v.cache = DefaultCache
	}
	compiled := map[string]*authority{}
	lookup := func(field string, names []string) ([]*authority, error) {
		var out []*authority
		for i, n := range names {
			if a, ok := compiled[n]; ok {
				out = append(out, a)
				continue
			}
			spec := spec.Authority(n)
			if spec == nil {
				return nil, fmt.Errorf("%s[%d]: unknown authority %q", field, i, n)
			}
			a, err := compileAuthority(ctx, spec, opts.SecretKeys, roots)
			if err != nil {
				return nil, err
			}
			compiled[n] = a
			out = append(out, a)
		}
		return out, nil
	}
	var err error
	if spec.Images != nil {
		v.images = spec.Images.DeepCopy()
		if v.imageAuths, err = lookup("spec.images.authorities", spec.Images.Authorities); err != nil {
			return nil, err
		}
		v.imageFP = fingerprintOf(v.imageAuths)
	}
	if spec.Bundles != nil {
		if v.bundleAuths, err = lookup("spec.bundles.authorities", spec.Bundles.Authorities); err != nil {
			return nil, err
		}
		v.bundleFP = fingerprintOf(v.bundleAuths)
	}
	for i := range spec.Attestations {
		a := spec.Attestations[i].DeepCopy()
		field := fmt.Sprintf("spec.attestations[%d]", i)
		r := &attRule{policy: *a, types: map[string]bool{}, vuln: a.IsVulnerabilityType()}
		for _, t := range a.PredicateTypes() {
			r.types[t] = true
		}
		if r.maxAge, err = a.MaxAgeDuration(); err != nil {
			return nil, fmt.Errorf("%s.maxAge: %w", field, err)
		}
		if r.auths, err = lookup(field+".authorities", spec.AttestationAuthorities(a)); err != nil {
			return nil, err
		}
		if len(r.auths) == 0 {
			return nil, fmt.Errorf("%s.authorities: no authority can sign this attestation (set it, or images.authorities)", field)
		}
		r.fp = fingerprintOf(r.auths, "types="+r.typeList())
		v.rules = append(v.rules, r)
	}
	if err := v.compileExtras(spec, lookup); err != nil {
		return nil, err
	}
	if err := v.compileProvenance(spec, lookup); err != nil {
		return nil, err
	}
	return v, nil
}

// Client returns the registry client, for a bundle Resolver sharing it.
func (v *Verifier) Client() *secoci.Client { return v.client }

// ResolveDigest implements gate.ArtifactVerifier. A reference that names
// nothing wraps gate.ErrNotFound.
func (v *Verifier) ResolveDigest(ctx context.Context, ref string) (string, error) {
	d, err := v.client.ResolveDigest(ctx, ref)
	if err != nil {
		if secoci.IsNotFound(err) {
			return "", fmt.Errorf("%w: %v", gate.ErrNotFound, err)
		}
		return "", err
	}
	return d.String(), nil
}

// verifyImage is VerifyImage's part for the image's signature and
// attestations (provenance.go adds the provenance of build outputs).
func (v *Verifier) verifyImage(ctx context.Context, t gate.ImageTarget) (gate.ImageResult, error) {
	d, err := name.NewDigest(t.Digest)
	if err != nil {
		return gate.ImageResult{}, fmt.Errorf("image %s: %q is not a digest reference: %w", t.Ref, t.Digest, err)
	}
	subject := t.Ref
	if subject == "" {
		subject = t.Digest
	}
	written := repoAsWritten(t.Ref)
	canonical := d.Context().Name()
	if v.images.Excludes(written) || v.images.Excludes(canonical) {
		return gate.ImageResult{Excluded: true}, nil
	}
	if len(v.imageAuths) == 0 && len(v.rules) == 0 {
		return gate.ImageResult{}, nil
	}
	m, err := newMaterial(v.client, d)
	if err != nil {
		return gate.ImageResult{}, err
	}
	var res gate.ImageResult
	if done, err := v.summaryInstead(ctx, m, d, &res); done || err != nil {
		return res, err
	}
	violation := func(check, msg string) {
		res.Findings = append(res.Findings, gate.Finding{Check: check, Subject: gate.ImageSubject(subject), Message: msg, Severity: gate.SeverityViolation})
	}
	if len(v.imageAuths) > 0 {
		o, err := v.cache.do(ctx, key(d, gate.CheckImageSignature, v.imageFP), func(ctx context.Context) (outcome, error) {
			return v.verifySignature(ctx, m, v.imageAuths)
		})
		if err != nil {
			return gate.ImageResult{}, fmt.Errorf("image %s: verifying the signature of %s: %w", subject, d.DigestStr(), err)
		}
		for _, f := range o.findings {
			violation(gate.CheckImageSignature, f)
		}
	}
	now := v.now()
	for _, r := range v.rules {
		o, err := v.cache.do(ctx, key(d, gate.CheckAttestation+"/"+r.policy.Name, r.fp), func(ctx context.Context) (outcome, error) {
			return v.verifyAttestation(ctx, m, r)
		})
		if err != nil {
			return gate.ImageResult{}, fmt.Errorf("image %s: verifying attestation %q of %s: %w", subject, r.policy.Name, d.DigestStr(), err)
		}
		for _, f := range o.findings {
			violation(gate.CheckAttestation, f)
		}
		if atts, ok := o.value.([]*verifiedAtt); ok && len(atts) > 0 {
			res.Evidence = append(res.Evidence, evidenceOf(atts)...)
			if atts, err = v.withVEX(ctx, m, d, r, atts, subject, &res); err != nil {
				return gate.ImageResult{}, err
			}
			res.Findings = append(res.Findings, v.judge(r, atts, subject, d.DigestStr(), written, now)...)
		}
	}
	res.Verified = true
	for _, f := range res.Findings {
		if f.Severity == gate.SeverityViolation {
			res.Verified = false
		}
	}
	return res, nil
}

// VerifyBundle implements gate.ArtifactVerifier: the bundle's signature
// against bundles.authorities, and the Tekton bundle contract.
func (v *Verifier) VerifyBundle(ctx context.Context, digestRef string) ([]gate.Finding, error) {
	d, err := name.NewDigest(digestRef)
	if err != nil {
		return nil, fmt.Errorf("bundle %q is not a digest reference: %w", digestRef, err)
	}
	var out []gate.Finding
	if len(v.bundleAuths) > 0 {
		m, err := newMaterial(v.client, d)
		if err != nil {
			return nil, err
		}
		o, err := v.cache.do(ctx, key(d, gate.CheckBundleSignature, v.bundleFP), func(ctx context.Context) (outcome, error) {
			return v.verifySignature(ctx, m, v.bundleAuths)
		})
		if err != nil {
			return nil, fmt.Errorf("bundle %s: verifying its signature: %w", digestRef, err)
		}
		for _, f := range o.findings {
			out = append(out, gate.Finding{Check: gate.CheckBundleSignature, Subject: gate.ImageSubject(digestRef), Message: "bundle " + f, Severity: gate.SeverityViolation})
		}
	}
	// The contract depends on the content only, which the digest fixes.
	o, err := v.cache.do(ctx, key(d, gate.CheckBundle, "contract/v1"), func(ctx context.Context) (outcome, error) {
		problems, err := bundle.Check(ctx, v.client, d)
		return outcome{findings: problems}, err
	})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: reading it: %w", digestRef, err)
	}
	for _, f := range o.findings {
		out = append(out, gate.Finding{Check: gate.CheckBundle, Subject: gate.ImageSubject(digestRef), Message: f, Severity: gate.SeverityViolation})
	}
	return out, nil
}

func key(d name.Digest, check, fp string) string {
	return d.Context().Name() + "@" + d.DigestStr() + "|" + check + "|" + fp
}

// repoAsWritten strips the digest and tag from a reference as the run wrote
// it, for images.exclude globs written without registry normalisation.
func repoAsWritten(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}
