package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	secoci "github.com/security-gate/security-gate/pkg/oci"
)

// Bounds on what one image may carry; more is refused as a violation
// rather than read.
const (
	maxClassicLayers = 64
	maxBundles       = 64
)

// errRefused marks material the gate refuses to read (too large, too many
// layers): deterministic, so a violation rather than "could not decide".
type errRefused struct{ msg string }

func (e *errRefused) Error() string { return e.msg }

// material fetches, at most once per VerifyImage call and only when a check
// needs it, what is attached to one digest in both layouts.
type material struct {
	client *secoci.Client
	digest name.Digest
	hash   v1.Hash

	sigOnce, attOnce, bundleOnce sync.Once
	sigs, atts                   []oci.Signature
	sigErr, attErr, bundleErr    error
	bundles                      []*sigBundle
	bundleNotes                  []string // referrers that are not readable bundles
}

func newMaterial(c *secoci.Client, d name.Digest) (*material, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	return &material{client: c, digest: d, hash: h}, nil
}

func (m *material) classicSignatures(ctx context.Context) ([]oci.Signature, error) {
	m.sigOnce.Do(func() { m.sigs, m.sigErr = m.classic(ctx, "sig") })
	return m.sigs, m.sigErr
}

func (m *material) classicAttestations(ctx context.Context) ([]oci.Signature, error) {
	m.attOnce.Do(func() { m.atts, m.attErr = m.classic(ctx, "att") })
	return m.atts, m.attErr
}

// classic reads the `sha256-<hex>.<suffix>` tag. A missing tag (404,
// MANIFEST_UNKNOWN) is no signatures, not an error.
func (m *material) classic(ctx context.Context, suffix string) ([]oci.Signature, error) {
	tag := m.digest.Context().Tag(fmt.Sprintf("%s-%s.%s", m.hash.Algorithm, m.hash.Hex, suffix))
	sigs, err := ociremote.Signatures(tag, ociremote.WithRemoteOptions(m.client.RemoteOptions(ctx)...))
	if err != nil {
		if secoci.IsNotFound(err) {
			return nil, nil
		}
		return nil, refuse(fmt.Sprintf("reading %s", tag), err)
	}
	mf, err := sigs.Manifest()
	if err != nil {
		if secoci.IsNotFound(err) {
			return nil, nil
		}
		return nil, refuse(fmt.Sprintf("reading %s", tag), err)
	}
	if len(mf.Layers) > maxClassicLayers {
		return nil, &errRefused{fmt.Sprintf("%s has %d layers, more than the %d the gate reads", tag, len(mf.Layers), maxClassicLayers)}
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, refuse(fmt.Sprintf("reading %s", tag), err)
	}
	out := make([]oci.Signature, 0, len(list))
	for _, s := range list {
		// Read each layer once, into memory (under the blob cap), so that
		// verifying against several keys does not refetch it.
		c, err := static.Copy(s)
		if err != nil {
			return nil, refuse(fmt.Sprintf("reading a layer of %s", tag), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// refuse turns a size-cap error into a violation-class error (naming the
// cap first, so it survives shortening); others are wrapped with context.
func refuse(what string, err error) error {
	var tl *secoci.TooLargeError
	if errors.As(err, &tl) {
		return &errRefused{fmt.Sprintf("%v; refused while %s", tl, what)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// sigBundle is one Sigstore bundle attached as an OCI 1.1 referrer.
type sigBundle struct {
	ref    string
	bundle *sgbundle.Bundle
	// statement is the unverified in-toto statement of a DSSE bundle, used
	// only to route the bundle to a check; nil for message signatures.
	statement *statement
}

func (m *material) sigstoreBundles(ctx context.Context) ([]*sigBundle, []string, error) {
	m.bundleOnce.Do(func() { m.bundles, m.bundleNotes, m.bundleErr = m.readBundles(ctx) })
	return m.bundles, m.bundleNotes, m.bundleErr
}

const bundleMediaPrefix = "application/vnd.dev.sigstore.bundle"

// readBundles lists the referrers (API or cosign v3's fallback tag) and
// reads every Sigstore bundle among them. Unlike cosign.GetBundles, a
// registry failure is an error here, not a silently dropped bundle.
func (m *material) readBundles(ctx context.Context) ([]*sigBundle, []string, error) {
	idx, err := m.client.Referrers(ctx, m.digest)
	if err != nil {
		if secoci.IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, refuse(fmt.Sprintf("listing referrers of %s", m.digest), err)
	}
	var out []*sigBundle
	var notes []string
	inspected := 0
	for _, desc := range idx.Manifests {
		if !maybeBundle(desc) {
			continue
		}
		if inspected++; inspected > maxBundles {
			return nil, nil, &errRefused{fmt.Sprintf("%s has more than %d referrers that may be Sigstore bundles", m.digest, maxBundles)}
		}
		ref := m.digest.Context().Digest(desc.Digest.String())
		img, err := m.client.Image(ctx, ref)
		if err != nil {
			return nil, nil, refuse(fmt.Sprintf("reading referrer %s", ref), err)
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, nil, refuse(fmt.Sprintf("reading referrer %s", ref), err)
		}
		if len(layers) != 1 {
			notes = append(notes, fmt.Sprintf("referrer %s has %d layers, expected one bundle", desc.Digest, len(layers)))
			continue
		}
		mt, err := layers[0].MediaType()
		if err != nil || !strings.HasPrefix(string(mt), bundleMediaPrefix) {
			continue // another kind of referrer (an SBOM, a signature of something else)
		}
		rc, err := layers[0].Compressed()
		if err != nil {
			return nil, nil, refuse(fmt.Sprintf("reading bundle %s", ref), err)
		}
		raw, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			return nil, nil, refuse(fmt.Sprintf("reading bundle %s", ref), err)
		}
		b := &sgbundle.Bundle{}
		if err := b.UnmarshalJSON(raw); err != nil {
			notes = append(notes, fmt.Sprintf("referrer %s is not a readable Sigstore bundle: %v", desc.Digest, err))
			continue
		}
		sb := &sigBundle{ref: desc.Digest.String(), bundle: b}
		if env := b.GetDsseEnvelope(); env != nil {
			st, err := parseStatement(env.GetPayloadType(), env.GetPayload())
			if err != nil {
				notes = append(notes, fmt.Sprintf("referrer %s: %v", desc.Digest, err))
				continue
			}
			sb.statement = st
		}
		out = append(out, sb)
	}
	return out, notes, nil
}

// maybeBundle filters referrers before fetching them. cosign writes the
// bundle type on the config descriptor, which registries report either as
// the artifactType or, like go-containerregistry's, as the empty config
// type; the layer media type decides in the end.
func maybeBundle(desc v1.Descriptor) bool {
	switch {
	case desc.ArtifactType == "", strings.HasPrefix(desc.ArtifactType, bundleMediaPrefix),
		desc.ArtifactType == "application/vnd.oci.empty.v1+json":
		return true
	}
	_, ok := desc.Annotations["dev.sigstore.bundle.content"]
	return ok
}

// statement is the part of an in-toto statement the gate reads.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

const inTotoPayloadType = "application/vnd.in-toto+json"

func parseStatement(payloadType string, payload []byte) (*statement, error) {
	if payloadType != inTotoPayloadType {
		return nil, fmt.Errorf("DSSE payload type %q, expected %s", payloadType, inTotoPayloadType)
	}
	st := &statement{}
	if err := json.Unmarshal(payload, st); err != nil {
		return nil, fmt.Errorf("in-toto statement: %v", err)
	}
	if st.PredicateType == "" {
		return nil, fmt.Errorf("in-toto statement has no predicateType")
	}
	return st, nil
}

// statementOf decodes the statement inside a classic attestation layer (a
// DSSE envelope).
func statementOf(sig oci.Signature) (*statement, error) {
	p, err := sig.Payload()
	if err != nil {
		return nil, err
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(p, &env); err != nil {
		return nil, fmt.Errorf("DSSE envelope: %v", err)
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("DSSE payload: %v", err)
	}
	return parseStatement(env.PayloadType, body)
}

// hasSubject reports whether the statement is about digest h.
func (st *statement) hasSubject(h v1.Hash) bool {
	for _, s := range st.Subject {
		if s.Digest[h.Algorithm] == h.Hex {
			return true
		}
	}
	return false
}

func (st *statement) subjectDigests() string {
	var ds []string
	for _, s := range st.Subject {
		for alg, hex := range s.Digest {
			ds = append(ds, alg+":"+hex)
		}
	}
	if len(ds) == 0 {
		return "none"
	}
	return strings.Join(ds, ", ")
}

// sigList adapts a slice to oci.Signatures for cosign.VerifyImageAttestation.
type sigList struct {
	oci.Signatures
	list []oci.Signature
}

func (s sigList) Get() ([]oci.Signature, error) { return s.list, nil }

func oneSig(s oci.Signature) oci.Signatures {
	return sigList{Signatures: empty.Signatures(), list: []oci.Signature{s}}
}
