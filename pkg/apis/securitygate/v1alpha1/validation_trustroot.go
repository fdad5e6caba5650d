package v1alpha1

import (
	"encoding/json"
	"fmt"
	"net/url"

	"knative.dev/pkg/apis"
)

// Field bounds, as in the CRD schema (types_trustroot.go).
const (
	maxTUFRepositoryField = 1 << 20
	maxTUFRootField       = 64 << 10
)

// validateTrust checks where a keyless authority's trusted root comes from:
// trustedRoot or tuf, not both; tuf names a mirror or a repository and, if
// given, a root.json.
func (k *KeylessAuthority) validateTrust() *apis.FieldError {
	if k.TUF == nil {
		return nil
	}
	if k.TrustedRoot != nil {
		return apis.ErrMultipleOneOf("trustedRoot", "tuf")
	}
	return k.TUF.validate().ViaField("tuf")
}

func (r *TUFRepository) validate() *apis.FieldError {
	errs := exactlyOne(r.Mirror, r.Repository, "mirror", "repository")
	if r.Mirror != "" {
		u, err := url.Parse(r.Mirror)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			errs = errs.Also(apis.ErrInvalidValue(r.Mirror, "mirror",
				"the base URL of a TUF repository: http or https, a host, no credentials, query or fragment"))
		}
	}
	if len(r.Repository) > maxTUFRepositoryField {
		errs = errs.Also(&apis.FieldError{Message: fmt.Sprintf("invalid value: %d characters, more than %d", len(r.Repository), maxTUFRepositoryField),
			Paths: []string{"repository"}, Details: "a serialized repository of the trusted root alone (a few tens of KiB)"})
	} else if r.Repository != "" {
		if _, err := r.Files(); err != nil {
			errs = errs.Also(&apis.FieldError{Message: "invalid value: " + err.Error(), Paths: []string{"repository"},
				Details: "base64 of a gzip-compressed tar of the repository's files, as a mirror serves them"})
		}
	}
	if len(r.Root) > maxTUFRootField {
		errs = errs.Also(&apis.FieldError{Message: fmt.Sprintf("invalid value: %d characters, more than %d", len(r.Root), maxTUFRootField),
			Paths: []string{"root"}, Details: "a TUF root.json document"})
	} else if r.Root != "" {
		var doc struct {
			Signed struct {
				Type string `json:"_type"`
			} `json:"signed"`
		}
		if err := json.Unmarshal([]byte(r.Root), &doc); err != nil || doc.Signed.Type != "root" {
			errs = errs.Also(apis.ErrInvalidValue("not a TUF root.json", "root",
				`a TUF root.json document ({"signed": {"_type": "root", ...}, "signatures": [...]})`))
		}
	}
	return errs
}
