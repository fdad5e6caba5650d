package verify

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// authority is a policy authority compiled once per verifier: keys parsed,
// regexps anchored, trusted root decoded or its TUF client chosen.
type authority struct {
	name       string
	keys       []signature.Verifier
	keyless    bool
	identity   cosign.Identity
	root       root.TrustedMaterial // from trustedRoot.data; nil when none given
	tufRoot    RootFunc             // from keyless.tuf; nil when none given
	ignoreTlog bool
	ignoreSCT  bool
	// requireTimestamp: every signature must carry a verified RFC 3161
	// timestamp (keyless.requireSignedTimestamp).
	requireTimestamp bool
	// fingerprint covers everything that changes what verifies.
	fingerprint string
}

func compileAuthority(ctx context.Context, a *v1alpha1.Authority, secretKeys SecretKeysFunc, roots *rootSet) (*authority, error) {
	out := &authority{name: a.Name, ignoreTlog: a.IgnoreTlog, ignoreSCT: a.IgnoreSCT}
	h := sha256.New()
	fmt.Fprintf(h, "tlog=%t sct=%t\n", a.IgnoreTlog, a.IgnoreSCT)
	switch {
	case a.Key != nil && a.Keyless != nil:
		return nil, fmt.Errorf("authority %q: has both key and keyless, expected exactly one", a.Name)
	case a.Key != nil:
		data := a.Key.Data
		if a.Key.SecretRef != nil {
			if secretKeys == nil {
				return nil, fmt.Errorf("authority %q: key.secretRef %s/%s cannot be read here (secretRef is for the controller; use key.data)",
					a.Name, a.Key.SecretRef.Name, a.Key.SecretRef.Key)
			}
			b, err := secretKeys(ctx, *a.Key.SecretRef)
			if err != nil {
				return nil, fmt.Errorf("authority %q: reading key.secretRef %s/%s: %w", a.Name, a.Key.SecretRef.Name, a.Key.SecretRef.Key, err)
			}
			data = strings.TrimSpace(data + "\n" + string(b))
		}
		keys, err := v1alpha1.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("authority %q: key.data: %w", a.Name, err)
		}
		var ders []string
		for i, k := range keys {
			v, err := signature.LoadVerifier(k, crypto.SHA256)
			if err != nil {
				return nil, fmt.Errorf("authority %q: key %d: %w", a.Name, i+1, err)
			}
			out.keys = append(out.keys, v)
			der, err := x509.MarshalPKIXPublicKey(k)
			if err != nil {
				return nil, fmt.Errorf("authority %q: key %d: %w", a.Name, i+1, err)
			}
			ders = append(ders, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
		}
		sort.Strings(ders)
		fmt.Fprintf(h, "keys\n%s", strings.Join(ders, ""))
	case a.Keyless != nil:
		k := a.Keyless
		out.keyless = true
		if k.Issuer != "" && k.IssuerRegExp != "" || k.Subject != "" && k.SubjectRegExp != "" {
			return nil, fmt.Errorf("authority %q: keyless: set issuer or issuerRegExp, subject or subjectRegExp, not both", a.Name)
		}
		if k.Issuer == "" && k.IssuerRegExp == "" || k.Subject == "" && k.SubjectRegExp == "" {
			return nil, fmt.Errorf("authority %q: keyless: an issuer (or issuerRegExp) and a subject (or subjectRegExp) are required", a.Name)
		}
		out.identity = cosign.Identity{Issuer: k.Issuer, Subject: k.Subject}
		// cosign and sigstore-go match regexps unanchored; the policy
		// promises whole-value matches, so anchor them here.
		if k.IssuerRegExp != "" {
			if _, err := v1alpha1.CompileWhole(k.IssuerRegExp); err != nil {
				return nil, fmt.Errorf("authority %q: keyless.issuerRegExp: %w", a.Name, err)
			}
			out.identity.IssuerRegExp = `^(?:` + k.IssuerRegExp + `)$`
		}
		if k.SubjectRegExp != "" {
			if _, err := v1alpha1.CompileWhole(k.SubjectRegExp); err != nil {
				return nil, fmt.Errorf("authority %q: keyless.subjectRegExp: %w", a.Name, err)
			}
			out.identity.SubjectRegExp = `^(?:` + k.SubjectRegExp + `)$`
		}
		fmt.Fprintf(h, "keyless %q %q %q %q\n", out.identity.Issuer, out.identity.IssuerRegExp, out.identity.Subject, out.identity.SubjectRegExp)
		out.requireTimestamp = k.RequireSignedTimestamp
		fmt.Fprintf(h, "timestamp required=%t\n", k.RequireSignedTimestamp)
		switch {
		case k.TrustedRoot != nil && k.TUF != nil:
			return nil, fmt.Errorf("authority %q: keyless: set trustedRoot or tuf, not both", a.Name)
		case k.TrustedRoot != nil && k.TrustedRoot.Data != "":
			tr, err := root.NewTrustedRootFromJSON([]byte(k.TrustedRoot.Data))
			if err != nil {
				return nil, fmt.Errorf("authority %q: keyless.trustedRoot.data: %w", a.Name, err)
			}
			out.root = tr
			fmt.Fprintf(h, "root %x\n", sha256.Sum256([]byte(k.TrustedRoot.Data)))
		case k.TUF != nil:
			fn, id, err := roots.tuf(k.TUF)
			if err != nil {
				return nil, fmt.Errorf("authority %q: keyless.tuf: %w", a.Name, err)
			}
			out.tufRoot = fn
			fmt.Fprintf(h, "root tuf %s\n", id)
		default:
			fmt.Fprintf(h, "root public %s\n", roots.publicID())
		}
	default:
		return nil, fmt.Errorf("authority %q: has neither key nor keyless, expected exactly one", a.Name)
	}
	out.fingerprint = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// material returns the trusted material verification needs, or nil when
// none is needed (a key with ignoreTlog in the classic layout). Its source
// is the authority's own (trustedRoot.data, keyless.tuf) or else fallback,
// the public Sigstore instance; a source that fails is an error (could not
// decide), never a reason to try another.
func (a *authority) material(ctx context.Context, fallback RootFunc) (root.TrustedMaterial, error) {
	if a.root != nil {
		return a.root, nil
	}
	if a.tufRoot != nil {
		tm, err := a.tufRoot(ctx)
		if err != nil {
			return nil, fmt.Errorf("authority %q: keyless.tuf: %w", a.name, err)
		}
		return tm, nil
	}
	if a.keyless || !a.ignoreTlog {
		if fallback == nil {
			what := "transparency-log proofs"
			if a.keyless {
				what = "certificate chains"
			}
			return nil, fmt.Errorf("authority %q: verifying %s needs a Sigstore trusted root, and none is configured (set keyless.trustedRoot.data, or ignoreTlog for offline keys)", a.name, what)
		}
		tm, err := fallback(ctx)
		if err != nil {
			return nil, fmt.Errorf("authority %q: loading the public Sigstore instance's trusted root: %w", a.name, err)
		}
		return tm, nil
	}
	return nil, nil
}

// checkOpts returns one CheckOpts per way this authority can verify (one per
// key; one for keyless). bundles selects the Sigstore bundle verifier.
func (a *authority) checkOpts(ctx context.Context, fallback RootFunc, bundles bool, claims func(*cosign.CheckOpts)) ([]*cosign.CheckOpts, error) {
	tm, err := a.material(ctx, fallback)
	if err != nil {
		return nil, err
	}
	base := func() *cosign.CheckOpts {
		co := &cosign.CheckOpts{
			IgnoreTlog: a.ignoreTlog,
			IgnoreSCT:  a.ignoreSCT,
			// Never go online for a missing log entry: the proof must be
			// in the signature.
			Offline:    true,
			MaxWorkers: 4,
		}
		if tm != nil {
			co.TrustedMaterial = tm
		}
		if bundles {
			co.NewBundleFormat = true
			if co.TrustedMaterial == nil {
				// The bundle verifier insists on trusted material even for
				// keys; an empty set trusts nothing beyond the key itself.
				co.TrustedMaterial = &root.BaseTrustedMaterial{}
			}
		}
		if claims != nil {
			claims(co)
		}
		a.timestampRules(co, bundles)
		return co
	}
	var out []*cosign.CheckOpts
	if a.keyless {
		co := base()
		co.Identities = []cosign.Identity{a.identity}
		out = append(out, co)
		return out, nil
	}
	for _, k := range a.keys {
		co := base()
		co.SigVerifier = k
		out = append(out, co)
	}
	return out, nil
}

// fingerprintOf combines the fingerprints of a set of authorities (order
// does not matter: any of them may verify).
func fingerprintOf(as []*authority, extra ...string) string {
	parts := make([]string, 0, len(as)+len(extra))
	for _, a := range as {
		parts = append(parts, a.name+"="+a.fingerprint)
	}
	sort.Strings(parts)
	parts = append(parts, extra...)
	s := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(s[:16])
}
