package vex

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	govex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
)

// Image is the image findings are about.
type Image struct {
	// Repository is the repository as go-containerregistry names it
	// (name.Repository.Name(): registry included, index.docker.io for
	// Docker Hub).
	Repository string
	// Digest is sha256:<hex>.
	Digest string
}

// Finding is what a statement is matched against.
type Finding struct {
	ID      string
	Aliases []string
	// PURL is the package URL of the affected package, when the scan says.
	PURL string
}

// ids are the ids the statement's vulnerability goes by: its name, @id and
// aliases. A finding matches when its id or an alias is one of them,
// case-insensitively (Set indexes them).
func (s *statement) ids() []string {
	ids := []string{string(s.vulnerability.Name), s.vulnerability.ID}
	for _, a := range s.vulnerability.Aliases {
		ids = append(ids, string(a))
	}
	return ids
}

// matchProduct returns how the statement names the finding's product (the
// image, a subcomponent or the package), or "" when it does not.
func (s *statement) matchProduct(img Image, f Finding) string {
	for _, sub := range s.subjects {
		if sub == img.Digest {
			return "attestation subject " + sub
		}
	}
	for i := range s.products {
		p := &s.products[i]
		if as := imageComponent(p.Component, img); as != "" {
			if len(p.Subcomponents) == 0 {
				return as
			}
			for _, sc := range p.Subcomponents {
				if purl := packageComponent(sc.Component, f); purl != "" {
					return as + " subcomponent " + purl
				}
			}
			continue
		}
		if purl := packageComponent(p.Component, f); purl != "" {
			return purl
		}
	}
	return ""
}

// imageComponent returns the identifier by which c names img, or "".
func imageComponent(c govex.Component, img Image) string {
	ids := []string{c.ID}
	for _, v := range c.Identifiers {
		ids = append(ids, v)
	}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
		case id == img.Digest:
			return id
		case strings.HasPrefix(id, "pkg:"):
			if ociPurlNames(id, img) {
				return id
			}
		case strings.Contains(id, "@"):
			if d, err := name.NewDigest(id); err == nil && d.DigestStr() == img.Digest && d.Context().Name() == img.Repository {
				return id
			}
		}
	}
	hexDigest := strings.TrimPrefix(img.Digest, "sha256:")
	for alg, h := range c.Hashes {
		if alg == govex.SHA256 && strings.EqualFold(string(h), hexDigest) {
			return "sha-256:" + string(h)
		}
	}
	return ""
}

// ociPurlNames reports whether purl is pkg:oci/<name>@<digest> naming img:
// its version is the digest, its name the repository's last element, and
// its repository_url (when given) the repository.
func ociPurlNames(purl string, img Image) bool {
	p, err := packageurl.FromString(purl)
	if err != nil || p.Type != packageurl.TypeOCI || p.Version != img.Digest {
		return false
	}
	last := img.Repository[strings.LastIndex(img.Repository, "/")+1:]
	if !strings.EqualFold(p.Name, last) {
		return false
	}
	if u, ok := p.Qualifiers.Map()["repository_url"]; ok {
		r, err := name.NewRepository(strings.TrimSuffix(u, "/"))
		if err != nil || r.Name() != img.Repository {
			return false
		}
	}
	return true
}

// packageComponent returns the purl by which c names the finding's package,
// or "" (also when the finding has no purl, or c names an image).
func packageComponent(c govex.Component, f Finding) string {
	if f.PURL == "" {
		return ""
	}
	ids := []string{c.ID}
	if v, ok := c.Identifiers[govex.PURL]; ok {
		ids = append(ids, v)
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "pkg:") || strings.HasPrefix(id, "pkg:oci/") {
			continue
		}
		if govex.PurlMatches(id, f.PURL) {
			return id
		}
	}
	return ""
}
