package config

import (
	"fmt"
	"strings"

	"github.com/security-gate/security-gate/pkg/trustroot"
)

// Keys choosing the Sigstore instance keyless authorities trust when they
// name no root of their own.
const (
	// KeySigstoreTUFMirror is the base URL of the TUF repository to read
	// instead of the public instance's (an in-cluster mirror of it, for a
	// cluster that cannot reach the internet).
	KeySigstoreTUFMirror = "sigstore-tuf-mirror"
	// KeySigstoreTUFRoot is the initial root.json (inline) of that
	// repository; unset, the public instance's root embedded in the
	// controller: a mirror of the public instance needs no root.
	KeySigstoreTUFRoot = "sigstore-tuf-root"
)

// parseSigstore reads the Sigstore keys; a root without a mirror is refused
// (it would silently apply to the public repository).
func parseSigstore(c *Config, data map[string]string) error {
	if v := strings.TrimSpace(data[KeySigstoreTUFMirror]); v != "" {
		if err := trustroot.CheckMirrorURL(v); err != nil {
			return fmt.Errorf("%s: %s: %v", Name, KeySigstoreTUFMirror, err)
		}
		c.SigstoreTUFMirror = v
	}
	if v := strings.TrimSpace(data[KeySigstoreTUFRoot]); v != "" {
		if c.SigstoreTUFMirror == "" {
			return fmt.Errorf("%s: %s is set without %s: name the TUF repository this root belongs to", Name, KeySigstoreTUFRoot, KeySigstoreTUFMirror)
		}
		if err := trustroot.CheckRoot([]byte(v)); err != nil {
			return fmt.Errorf("%s: %s: %v", Name, KeySigstoreTUFRoot, err)
		}
		c.SigstoreTUFRoot = []byte(v)
	}
	return nil
}

// SigstoreTUF returns the repository that stands for the public instance,
// or nil for the public instance itself.
func (c *Config) SigstoreTUF() *trustroot.Source {
	if c.SigstoreTUFMirror == "" {
		return nil
	}
	return &trustroot.Source{Mirror: c.SigstoreTUFMirror, Root: c.SigstoreTUFRoot}
}
