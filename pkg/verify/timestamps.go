package verify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// How a signature's time is established, in both layouts:
//
//   - a transparency-log entry (unless ignoreTlog) must verify against the
//     root's log keys (SET, and the inclusion proof a bundle carries), and
//     its integrated time is a time of signing;
//   - an RFC 3161 timestamp a signature carries must verify against the
//     root's timestamp authorities, and its time is a time of signing: an
//     expired keyless certificate verifies if it was valid then;
//   - keyless.requireSignedTimestamp demands such a timestamp;
//   - with neither (ignoreTlog, no timestamp) a certificate must be valid
//     now.
//
// The certificate must be valid at every time established.

// timestampRules sets co's timestamp handling. For bundles, verifyNewBundle
// reads UseSignedTimestamps as "required". In the classic layout cosign
// verifies a carried timestamp (and takes its time) only under
// UseSignedTimestamps, but never demands one: the gate checks that itself,
// in the claim verifier cosign calls once the signature verified.
func (a *authority) timestampRules(co *cosign.CheckOpts, bundles bool) {
	if bundles {
		co.UseSignedTimestamps = a.requireTimestamp
		return
	}
	if co.TrustedMaterial != nil && len(co.TrustedMaterial.TimestampingAuthorities()) > 0 {
		co.UseSignedTimestamps = true
	}
	if !a.requireTimestamp {
		return
	}
	claims := co.ClaimVerifier
	name := a.name
	co.ClaimVerifier = func(sig oci.Signature, h v1.Hash, annotations map[string]interface{}) error {
		ok, err := classicTimestamp(sig, co.TrustedMaterial)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no RFC 3161 timestamp, and authority %s requires a signed timestamp (keyless.requireSignedTimestamp)", name)
		}
		if claims != nil {
			return claims(sig, h, annotations)
		}
		return nil
	}
}

// classicTimestamp verifies the RFC 3161 timestamp a classic signature or
// attestation carries against the root's timestamp authorities: false
// without one, an error when it does not verify. cosign stamps a
// signature's bytes, and an attestation's envelope (it has no separate
// signature).
func classicTimestamp(sig oci.Signature, tm root.TrustedMaterial) (bool, error) {
	ts, err := sig.RFC3161Timestamp()
	if err != nil {
		return false, fmt.Errorf("reading the RFC 3161 timestamp: %w", err)
	}
	if ts == nil {
		return false, nil
	}
	if tm == nil || len(tm.TimestampingAuthorities()) == 0 {
		return false, errors.New("the signature carries an RFC 3161 timestamp, and the trusted root has no timestamp authority to check it")
	}
	stamped, err := sig.Payload()
	if err != nil {
		return false, err
	}
	b64, err := sig.Base64Signature()
	if err != nil {
		return false, err
	}
	if b64 != "" {
		if stamped, err = base64.StdEncoding.DecodeString(b64); err != nil {
			return false, fmt.Errorf("signature: %w", err)
		}
	}
	var errs []error
	for _, tsa := range tm.TimestampingAuthorities() {
		if _, err := tsa.Verify(ts.SignedRFC3161Timestamp, stamped); err == nil {
			return true, nil
		} else {
			errs = append(errs, err)
		}
	}
	return false, fmt.Errorf("RFC 3161 timestamp does not verify against the trusted root: %w", errors.Join(errs...))
}

// verifyImageSignature is cosign.VerifyImageSignature with a carried
// timestamp checked first: cosign v2.6.5 indexes an empty list (and
// panics) when a timestamp fails against a trusted root.
func verifyImageSignature(ctx context.Context, sig oci.Signature, h v1.Hash, co *cosign.CheckOpts) (bool, error) {
	if co.UseSignedTimestamps {
		if _, err := classicTimestamp(sig, co.TrustedMaterial); err != nil {
			return false, err
		}
	}
	return cosign.VerifyImageSignature(ctx, sig, h, co)
}

// verifyImageAttestation is cosign.VerifyImageAttestation with the same
// timestamp check first.
func verifyImageAttestation(ctx context.Context, atts oci.Signatures, h v1.Hash, co *cosign.CheckOpts) ([]oci.Signature, bool, error) {
	if co.UseSignedTimestamps {
		list, err := atts.Get()
		if err != nil {
			return nil, false, err
		}
		for _, att := range list {
			if _, err := classicTimestamp(att, co.TrustedMaterial); err != nil {
				return nil, false, err
			}
		}
	}
	return cosign.VerifyImageAttestation(ctx, atts, h, co)
}

// verifyNewBundle verifies a Sigstore bundle as cosign.VerifyNewBundle does
// (same identities, keys, SCT and log options), with the gate's rules for
// the time of signing: a timestamp the bundle carries counts, with or
// without the log (cosign ignores it unless told to require one).
func verifyNewBundle(_ context.Context, co *cosign.CheckOpts, artifact sgverify.ArtifactPolicyOption, b sgverify.SignedEntity) (*sgverify.VerificationResult, error) {
	if co.TrustedMaterial == nil {
		return nil, errors.New("no trusted material")
	}
	tm := co.TrustedMaterial
	var vopts []sgverify.VerifierOption
	var popts []sgverify.PolicyOption
	key := co.SigVerifier != nil
	if key {
		expiring := root.NewExpiringKey(co.SigVerifier, time.Time{}, time.Time{})
		tm = root.TrustedMaterialCollection{tm, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return expiring, nil
		})}
		popts = append(popts, sgverify.WithKey())
	} else if !co.IgnoreSCT {
		vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
	}
	if len(co.Identities) > 0 {
		if len(co.Identities) > 1 {
			return nil, errors.New("more than one identity per check")
		}
		id := co.Identities[0]
		san, err := sgverify.NewSANMatcher(id.Subject, id.SubjectRegExp)
		if err != nil {
			return nil, err
		}
		issuer, err := sgverify.NewIssuerMatcher(id.Issuer, id.IssuerRegExp)
		if err != nil {
			return nil, err
		}
		ci, err := sgverify.NewCertificateIdentity(san, issuer, certificate.Extensions{})
		if err != nil {
			return nil, err
		}
		popts = append(popts, sgverify.WithCertificateIdentity(ci))
	}
	carried, err := b.Timestamps()
	if err != nil {
		return nil, err
	}
	// A timestamp can be checked only against timestamp authorities of the
	// root; a key authority without a root has none.
	timestamped := len(carried) > 0 && len(co.TrustedMaterial.TimestampingAuthorities()) > 0
	if !co.IgnoreTlog {
		vopts = append(vopts, sgverify.WithTransparencyLog(1))
	}
	switch {
	case co.UseSignedTimestamps || timestamped:
		// Required, or carried: it must verify, and it is the time of
		// signing (also for Rekor v2 entries, which have no time of their
		// own).
		vopts = append(vopts, sgverify.WithSignedTimestamps(1))
	case key:
		// A key has no validity window to place a signature in.
		vopts = append(vopts, sgverify.WithNoObserverTimestamps())
	case !co.IgnoreTlog:
		vopts = append(vopts, sgverify.WithIntegratedTimestamps(1))
	default:
		vopts = append(vopts, sgverify.WithCurrentTime())
	}
	v, err := sgverify.NewVerifier(tm, vopts...)
	if err != nil {
		return nil, err
	}
	return v.Verify(b, sgverify.NewPolicy(artifact, popts...))
}
