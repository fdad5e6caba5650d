package vsa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ggstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// Layout is where a summary is attached.
type Layout string

const (
	// LayoutClassic is a layer of cosign's sha256-<hex>.att tag.
	LayoutClassic Layout = "classic"
	// LayoutBundle is a Sigstore bundle attached as an OCI 1.1 referrer.
	LayoutBundle Layout = "bundle"
)

// ParseLayouts reads "classic", "bundle" or "both" (also "classic,bundle").
func ParseLayouts(s string) ([]Layout, error) {
	var out []Layout
	seen := map[Layout]bool{}
	for _, p := range strings.Split(s, ",") {
		switch l := Layout(strings.TrimSpace(p)); l {
		case "both":
			for _, b := range []Layout{LayoutClassic, LayoutBundle} {
				if !seen[b] {
					seen[b] = true
					out = append(out, b)
				}
			}
		case LayoutClassic, LayoutBundle:
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		default:
			return nil, fmt.Errorf("layout %q: want classic, bundle or both", p)
		}
	}
	return out, nil
}

// Bounds on what Attach reads while looking for the summaries it replaces.
const (
	maxReferrersInspected = 64
	maxBundleBytes        = 1 << 20
)

// Writer signs summaries and attaches them to images.
type Writer struct {
	Signer  *Signer
	Layouts []Layout
	// Options returns the go-containerregistry options of one write:
	// transport, credentials and ctx (whose deadline bounds it).
	Options func(ctx context.Context) []remote.Option
	// Now stamps the referrer manifest's creation annotation.
	Now func() time.Time
}

// Written says where one summary went.
type Written struct {
	Layout Layout
	// Location is the .att tag or the referrer manifest.
	Location string
	// Digest is sha256:<hex> of the DSSE envelope (classic) or bundle.
	Digest string
	// Replaced counts earlier summaries of this key and policy removed.
	Replaced int
	// Left lists earlier summaries that could not be removed, and why.
	Left []string
}

// Attach signs st and attaches it to d in every configured layout.
func (w *Writer) Attach(ctx context.Context, d name.Digest, st *Statement) ([]Written, error) {
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	env, err := w.Signer.envelope(payload)
	if err != nil {
		return nil, fmt.Errorf("signing the summary of %s: %w", d, err)
	}
	var out []Written
	for _, l := range w.Layouts {
		var wr Written
		var err error
		switch l {
		case LayoutClassic:
			wr, err = w.attachClassic(ctx, d, env, st.Predicate.Policy.URI)
		case LayoutBundle:
			wr, err = w.attachBundle(ctx, d, payload, env, st.Predicate.Policy.URI)
		default:
			err = fmt.Errorf("unknown layout %q", l)
		}
		if err != nil {
			return out, fmt.Errorf("attaching the summary of %s (%s layout): %w", d, l, err)
		}
		out = append(out, wr)
	}
	return out, nil
}

func (w *Writer) attachClassic(ctx context.Context, d name.Digest, env []byte, policyURI string) (Written, error) {
	ro := ociremote.WithRemoteOptions(w.Options(ctx)...)
	att, err := static.NewAttestation(env, static.WithLayerMediaType(ctypes.DssePayloadType))
	if err != nil {
		return Written{}, err
	}
	rep := &replaceOwn{signer: w.Signer, policyURI: policyURI}
	se, err := mutate.AttachAttestationToEntity(ociremote.SignedUnknown(d, ro), att, mutate.WithReplaceOp(rep))
	if err != nil {
		return Written{}, err
	}
	if err := ociremote.WriteAttestations(d.Repository, se, ro); err != nil {
		return Written{}, err
	}
	sum := sha256.Sum256(env)
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
	return Written{Layout: LayoutClassic, Location: tag.String(), Digest: "sha256:" + hex.EncodeToString(sum[:]), Replaced: rep.replaced}, nil
}

// replaceOwn drops, from the .att tag, the summaries this signer wrote for
// the same policy: one summary per key, policy and image.
type replaceOwn struct {
	signer    *Signer
	policyURI string
	replaced  int
}

var _ mutate.ReplaceOp = (*replaceOwn)(nil)

func (r *replaceOwn) Replace(existing oci.Signatures, add oci.Signature) (oci.Signatures, error) {
	sigs, err := existing.Get()
	if err != nil {
		return nil, err
	}
	keep := []oci.Signature{add}
	for _, s := range sigs {
		p, err := s.Payload()
		if err == nil && r.own(p) {
			r.replaced++
			continue
		}
		keep = append(keep, s)
	}
	return &signatureList{Signatures: existing, list: keep}, nil
}

func (r *replaceOwn) own(envelope []byte) bool {
	pt, uri, err := statementOf(envelope)
	return err == nil && pt == PredicateType && uri == r.policyURI && r.signer.signedByMe(envelope)
}

type signatureList struct {
	oci.Signatures
	list []oci.Signature
}

func (s *signatureList) Get() ([]oci.Signature, error) { return s.list, nil }

func (w *Writer) attachBundle(ctx context.Context, d name.Digest, payload, env []byte, policyURI string) (Written, error) {
	opts := w.Options(ctx)
	raw, err := w.Signer.bundle(payload, env)
	if err != nil {
		return Written{}, err
	}
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.MediaType == "" {
		return Written{}, fmt.Errorf("the Sigstore bundle has no mediaType")
	}
	old, err := w.ownReferrers(d, policyURI, opts)
	if err != nil {
		return Written{}, err
	}
	subject, err := remote.Head(d, opts...)
	if err != nil {
		return Written{}, fmt.Errorf("reading %s: %w", d, err)
	}
	layer := ggstatic.NewLayer(raw, types.MediaType(head.MediaType))
	config := ggstatic.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(d.Repository, l, opts...); err != nil {
			return Written{}, fmt.Errorf("uploading to %s: %w", d.Repository, err)
		}
	}
	ld, err := describe(layer)
	if err != nil {
		return Written{}, err
	}
	cd, err := describe(config)
	if err != nil {
		return Written{}, err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	m := referrer{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  head.MediaType,
		Config:        cd,
		Layers:        []v1.Descriptor{ld},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{
			"org.opencontainers.image.created":  now().UTC().Format(time.RFC3339),
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": PredicateType,
		},
	}
	mraw, err := json.Marshal(m)
	if err != nil {
		return Written{}, err
	}
	h, _, err := v1.SHA256(strings.NewReader(string(mraw)))
	if err != nil {
		return Written{}, err
	}
	target := d.Context().Digest(h.String())
	if err := remote.Put(target, rawManifest{raw: mraw, mediaType: types.OCIManifestSchema1}, opts...); err != nil {
		return Written{}, fmt.Errorf("writing referrer %s: %w", target, err)
	}
	wr := Written{Layout: LayoutBundle, Location: target.String(), Digest: ld.Digest.String()}
	wr.Replaced, wr.Left = w.removeReferrers(d, old, h, opts)
	return wr, nil
}

func describe(l v1.Layer) (v1.Descriptor, error) {
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	dg, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: dg, Size: sz}, nil
}

// referrer is an OCI 1.1 image manifest with artifactType and subject.
type referrer struct {
	SchemaVersion int64             `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }

// ownReferrers lists the summaries this signer attached to d as bundles for
// the same policy.
func (w *Writer) ownReferrers(d name.Digest, policyURI string, opts []remote.Option) ([]v1.Hash, error) {
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == 404 {
			return nil, nil
		}
		return nil, fmt.Errorf("listing the referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var own []v1.Hash
	inspected := 0
	for _, desc := range im.Manifests {
		if desc.Annotations["dev.sigstore.bundle.predicateType"] != PredicateType {
			continue
		}
		if inspected++; inspected > maxReferrersInspected {
			break
		}
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()), opts...)
		if err != nil {
			continue
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			continue
		}
		rc, err := layers[0].Compressed()
		if err != nil {
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(rc, maxBundleBytes+1))
		_ = rc.Close()
		if err != nil || len(raw) > maxBundleBytes {
			continue
		}
		env, err := envelopeOfBundle(raw)
		if err != nil || env == nil {
			continue
		}
		if (&replaceOwn{signer: w.Signer, policyURI: policyURI}).own(env) {
			own = append(own, desc.Digest)
		}
	}
	return own, nil
}

// removeReferrers deletes the earlier summaries (never the one just
// written), then drops them from the referrers fallback tag if there is one.
// What cannot be removed is reported, not fatal: the new summary is written.
func (w *Writer) removeReferrers(d name.Digest, old []v1.Hash, written v1.Hash, opts []remote.Option) (int, []string) {
	removed := map[v1.Hash]bool{}
	var left []string
	for _, h := range old {
		if h == written {
			continue
		}
		if err := remote.Delete(d.Context().Digest(h.String()), opts...); err != nil {
			left = append(left, fmt.Sprintf("%s: %v", h, err))
			continue
		}
		removed[h] = true
	}
	if len(removed) == 0 {
		return 0, left
	}
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
	desc, err := remote.Get(tag, opts...)
	if err != nil {
		return len(removed), left // no fallback tag: the referrers API lists them
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return len(removed), append(left, fmt.Sprintf("fallback tag %s: %v", tag, err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return len(removed), append(left, fmt.Sprintf("fallback tag %s: %v", tag, err))
	}
	keep := im.Manifests[:0]
	for _, m := range im.Manifests {
		if !removed[m.Digest] {
			keep = append(keep, m)
		}
	}
	im.Manifests = keep
	raw, err := json.Marshal(im)
	if err != nil {
		return len(removed), append(left, err.Error())
	}
	if err := remote.Put(tag, rawManifest{raw: raw, mediaType: types.OCIImageIndex}, opts...); err != nil {
		left = append(left, fmt.Sprintf("fallback tag %s: %v", tag, err))
	}
	return len(removed), left
}
