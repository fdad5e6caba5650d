package trustroot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	sgtuf "github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// TrustedRootTarget is the TUF target holding a Sigstore trusted root.
const TrustedRootTarget = "trusted_root.json"

// serializedBase is the repository URL a serialized repository is read
// under; nothing is ever sent there (the reserved .invalid name says so).
const serializedBase = "https://serialized.tuf.invalid"

// Source names one TUF repository that delivers a trusted root.
type Source struct {
	// Mirror is the repository's base URL (http or https). Empty for a
	// serialized repository.
	Mirror string
	// Root is the initial root.json, the trust anchor. Empty means the
	// pool's public root (a mirror of the public instance).
	Root []byte
	// Files is a serialized repository: each file under the path a mirror
	// serves it at ("2.root.json", "timestamp.json",
	// "targets/<sha256>.trusted_root.json"). Set instead of Mirror.
	Files map[string][]byte
}

// Describe names the source in messages.
func (s Source) Describe() string {
	if s.Files != nil {
		return fmt.Sprintf("the serialized TUF repository (%d files)", len(s.Files))
	}
	return "the TUF repository " + s.Mirror
}

func (s Source) base() string {
	if s.Files != nil {
		return serializedBase
	}
	return strings.TrimSuffix(s.Mirror, "/")
}

// key identifies the source: the same mirror with another initial root is
// another trust root, with a cache of its own.
func (s Source) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "mirror %q\nroot %x\n", s.base(), sha256.Sum256(s.Root))
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "file %q %x\n", n, sha256.Sum256(s.Files[n]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheName is the directory of the source's cache under Options.CacheDir:
// readable (sigstore-go's naming of the repository) and unique (the key).
func (s Source) cacheName() string {
	return sgtuf.URLToPath(s.base()) + "-" + s.key()[:16]
}

func (s Source) check() error {
	switch {
	case s.Files != nil && s.Mirror != "":
		return errors.New("a TUF source is a mirror or a serialized repository, not both")
	case s.Files == nil && s.Mirror == "":
		return errors.New("a TUF source needs a mirror URL or a serialized repository")
	case s.Files != nil:
		if len(s.Files) == 0 {
			return errors.New("the serialized TUF repository is empty")
		}
	default:
		if err := CheckMirrorURL(s.Mirror); err != nil {
			return err
		}
	}
	if len(s.Root) > 0 {
		if err := CheckRoot(s.Root); err != nil {
			return err
		}
	}
	return nil
}

// CheckMirrorURL accepts an absolute http or https URL without credentials,
// query or fragment.
func CheckMirrorURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("mirror %q is not a URL: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("mirror %q: want an http or https URL", s)
	case u.Host == "":
		return fmt.Errorf("mirror %q has no host", s)
	case u.User != nil:
		return fmt.Errorf("mirror %q carries credentials; TUF repositories are read anonymously", s)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("mirror %q: want a base URL without query or fragment", s)
	}
	return nil
}

// CheckRoot accepts a TUF root.json that is signed by a threshold of its own
// root keys, the condition for being a trust anchor.
func CheckRoot(b []byte) error {
	if _, err := metadata.Root().FromBytes(b); err != nil {
		return fmt.Errorf("not a TUF root.json: %v", err)
	}
	if _, err := trustedmetadata.New(b); err != nil {
		return fmt.Errorf("TUF root.json is not signed by its own root keys: %v", err)
	}
	return nil
}
