package config

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Keys of the verification summaries the controller writes after a pass.
const (
	// KeyVSASigningSecret names a Secret in the controller's namespace
	// holding the signing key (cosign.key, cosign.password as written by
	// `cosign generate-key-pair k8s://security-gate/<name>`). Unset: no
	// summaries are written.
	KeyVSASigningSecret = "vsa-signing-secret"
	// KeyVSALayout is classic, bundle or both (default).
	KeyVSALayout = "vsa-layout"
	// KeyVSAVerifierID is the summaries' verifier.id.
	KeyVSAVerifierID = "vsa-verifier-id"
)

// DefaultVSALayout attaches summaries in both cosign layouts.
const DefaultVSALayout = "both"

// VSA is the verification-summary part of the configuration.
type VSA struct {
	// SigningSecret is the Secret's name; "" writes no summary.
	SigningSecret string
	// Layout is classic, bundle or both; "" is DefaultVSALayout.
	Layout string
	// VerifierID is verifier.id; "" is the project's default.
	VerifierID string
}

// parseVSA reads the vsa-* keys into c.VSA. A malformed value is an error
// naming the key, like every other key.
func parseVSA(c *Config, data map[string]string) error {
	if v, ok := data[KeyVSASigningSecret]; ok && v != "" {
		if msgs := validation.IsDNS1123Subdomain(v); len(msgs) > 0 {
			return fmt.Errorf("%s: %s: %q is not a Secret name: %s", Name, KeyVSASigningSecret, v, strings.Join(msgs, "; "))
		}
		c.VSA.SigningSecret = v
	}
	if v, ok := data[KeyVSALayout]; ok {
		switch v {
		case "classic", "bundle", "both":
			c.VSA.Layout = v
		default:
			return fmt.Errorf("%s: %s: %q is not a layout (want classic, bundle or both)", Name, KeyVSALayout, v)
		}
	}
	if v, ok := data[KeyVSAVerifierID]; ok {
		if v == "" || strings.ContainsAny(v, " \t\n") || !strings.Contains(v, ":") {
			return fmt.Errorf("%s: %s: %q is not a URI (e.g. https://ci.example.com/security-gate)", Name, KeyVSAVerifierID, v)
		}
		c.VSA.VerifierID = v
	}
	return nil
}
