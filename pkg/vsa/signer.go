package vsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// BundleMediaType is the Sigstore bundle version written (what
// cosign.bundle.MakeNewBundle produces).
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Signer signs summaries with one private key.
type Signer struct {
	sv signature.SignerVerifier
	// PublicPEM is the public key, for the authorities of accepting policies.
	PublicPEM string
}

// LoadSigner reads a private key: cosign's encrypted format (`cosign
// generate-key-pair`, ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY, decrypted with
// password), or an unencrypted PKCS #8, EC or RSA PEM key.
func LoadSigner(keyPEM, password []byte) (*Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	var sv signature.SignerVerifier
	var err error
	switch block.Type {
	case cosign.CosignPrivateKeyPemType, cosign.SigstorePrivateKeyPemType:
		sv, err = cosign.LoadPrivateKey(keyPEM, password, nil)
		if err != nil {
			return nil, fmt.Errorf("cosign private key: %w (is the password right?)", err)
		}
	case cosign.PrivateKeyPemType, cosign.ECPrivateKeyPemType, cosign.RSAPrivateKeyPemType:
		pk, perr := cryptoutils.UnmarshalPEMToPrivateKey(keyPEM, cryptoutils.SkipPassword)
		if perr != nil {
			return nil, fmt.Errorf("%s: %w", block.Type, perr)
		}
		sv, err = signature.LoadDefaultSignerVerifier(pk)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", block.Type, err)
		}
	default:
		return nil, fmt.Errorf("PEM type %q is not a private key (want a cosign key or PRIVATE KEY)", block.Type)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, PublicPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, nil
}

// PublicKey returns the public half.
func (s *Signer) PublicKey() (crypto.PublicKey, error) { return s.sv.PublicKey() }

// envelope signs statement into a DSSE envelope (JSON), as cosign attest does.
func (s *Signer) envelope(statement []byte) ([]byte, error) {
	return dsse.WrapSigner(s.sv, InTotoPayloadType).SignMessage(bytes.NewReader(statement))
}

// signedByMe reports whether envelope (DSSE JSON) verifies with this key.
func (s *Signer) signedByMe(envelope []byte) bool {
	return dsse.WrapVerifier(s.sv).VerifySignature(bytes.NewReader(envelope), nil) == nil
}

type dsseJSON struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// bundle wraps statement and its signed envelope in a Sigstore bundle
// v0.3 with a public key hint and no transparency-log entry, as cosign v3
// writes for a key with --tlog-upload=false.
func (s *Signer) bundle(statement, envelope []byte) ([]byte, error) {
	pub, err := s.sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return cbundle.MakeNewBundle(pub, nil, statement, envelope, []byte(s.PublicPEM), nil)
}

// envelopeOfBundle turns a bundle's DSSE envelope back into DSSE JSON, so
// signedByMe and statementOf can read it; nil when it holds none.
func envelopeOfBundle(raw []byte) ([]byte, error) {
	var b protobundle.Bundle
	if err := protojson.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	pe := b.GetDsseEnvelope()
	if pe == nil {
		return nil, nil
	}
	env := dsseJSON{PayloadType: pe.GetPayloadType(), Payload: base64.StdEncoding.EncodeToString(pe.GetPayload())}
	for _, sg := range pe.GetSignatures() {
		env.Signatures = append(env.Signatures, struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		}{sg.GetKeyid(), base64.StdEncoding.EncodeToString(sg.GetSig())})
	}
	return json.Marshal(env)
}

// statementOf decodes the in-toto statement header of a DSSE JSON envelope.
func statementOf(envelope []byte) (predicateType, policyURI string, err error) {
	var env dsseJSON
	if err := json.Unmarshal(envelope, &env); err != nil {
		return "", "", err
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return "", "", err
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Policy struct {
				URI string `json:"uri"`
			} `json:"policy"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return "", "", err
	}
	return st.PredicateType, st.Predicate.Policy.URI, nil
}
