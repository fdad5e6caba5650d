//go:build integration

package interop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// Fulcio's certificate extensions for the OIDC issuer: 1.1 holds the raw
// string (deprecated), 1.8 a DER UTF8String. Verifiers read either.
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// localCA acts as Fulcio: a root that issues short-lived code-signing leaves
// carrying an email identity and the issuer extension.
type localCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, cn string) *localCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"security-gate tests"}},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &localCA{cert: cert, key: key}
}

// leaf is a signing identity: the cosign key file for the CLI and the
// certificate (PEM) the CA issued for it.
type leaf struct {
	keyPath  string
	certPath string
	chain    string // PEM of the root, for --certificate-chain
}

func (ca *localCA) issue(t *testing.T, dir, email, issuer string) leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		Subject:        pkix.Name{},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(time.Hour), // checked against now, as there is no tlog time
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{email},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(issuer)},
			{Id: oidIssuerV2, Value: v2},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := writeFile(t, dir, "leaf.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	// The CLI wants a cosign key file; import the PEM key the way
	// `cosign import-key-pair` does, with the empty password.
	kb, err := cosign.ImportKeyPair(pemKey, func(bool) ([]byte, error) { return []byte{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(pemKey); err != nil {
		t.Fatal(err)
	}
	return leaf{
		keyPath:  writeFile(t, dir, "leaf.key", kb.PrivateBytes),
		certPath: writeFile(t, dir, "leaf.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		chain:    writeFile(t, dir, "chain.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})),
	}
}

// trustedRoot renders a Sigstore trusted_root.json whose only certificate
// authority is ca: no logs, no timestamp authorities.
func (ca *localCA) trustedRoot(t *testing.T) string {
	t.Helper()
	doc := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs":     []any{},
		"ctlogs":    []any{},
		"certificateAuthorities": []any{map[string]any{
			"subject": map[string]any{"organization": "security-gate tests", "commonName": ca.cert.Subject.CommonName},
			"uri":     "https://ca.invalid",
			"certChain": map[string]any{"certificates": []any{
				map[string]any{"rawBytes": ca.cert.Raw},
			}},
			"validFor": map[string]any{"start": ca.cert.NotBefore.UTC().Format(time.RFC3339)},
		}},
		"timestampAuthorities": []any{},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// offlineSigning writes cosign v3's offline signing config and an empty
// trusted root: no Fulcio, no Rekor, no timestamp authority to reach.
func offlineSigning(t *testing.T, dir string) (signingConfig, trustedRoot string) {
	t.Helper()
	sc := writeFile(t, dir, "signing-config.json", []byte(
		`{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","rekorTlogConfig":{},"tsaConfig":{}}`))
	tr := writeFile(t, dir, "empty-trusted-root.json", []byte(
		`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	return sc, tr
}
