package v1alpha1

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Short attestation type names accepted in spec.attestations[].type.
const (
	AttestationTypeVuln            = "vuln"
	AttestationTypeSLSAProvenance  = "slsaprovenance"
	AttestationTypeSLSAProvenance1 = "slsaprovenance1"
)

// shortTypes maps each short attestation type to the predicateType URIs it
// accepts. vuln accepts the cosign vuln predicate (with and without scheme, as
// older cosign wrote it without) and the common scanner formats.
var shortTypes = map[string][]string{
	AttestationTypeVuln: {
		"https://cosign.sigstore.dev/attestation/vuln/v1",
		"cosign.sigstore.dev/attestation/vuln/v1",
		"https://grype.anchore.io/scan",
		"https://in-toto.io/attestation/vulns",
		"https://in-toto.io/attestation/vulns/v0.1",
		"https://in-toto.io/attestation/vulns/v0.2",
	},
	AttestationTypeSLSAProvenance:  {"https://slsa.dev/provenance/v0.2"},
	AttestationTypeSLSAProvenance1: {"https://slsa.dev/provenance/v1"},
}

// Severities are the vulnerability severities spec...vulnerabilities.deny
// accepts (compared case-insensitively).
var Severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN"}

func isSeverity(s string) bool {
	for _, k := range Severities {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// CompileWhole compiles a policy regular expression so that it matches only a
// whole value: every regexp in the policy is anchored, so "acme" never
// matches "evil-acme-fork".
func CompileWhole(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// MatchRegexpWhole reports whether pattern matches all of s (see CompileWhole).
// An invalid pattern is an error, never a match.
func MatchRegexpWhole(pattern, s string) (bool, error) {
	re, err := CompileWhole(pattern)
	if err != nil {
		return false, err
	}
	return re.MatchString(s), nil
}

// MatchGlob reports whether repo (a repository without tag or digest) matches
// pattern with path.Match semantics: `*` does not cross a `/`. A bad pattern
// never matches.
func MatchGlob(pattern, repo string) bool {
	ok, err := path.Match(pattern, repo)
	return err == nil && ok
}

// MatchAnyGlob reports whether repo matches one of patterns.
func MatchAnyGlob(patterns []string, repo string) bool {
	for _, p := range patterns {
		if MatchGlob(p, repo) {
			return true
		}
	}
	return false
}

// IsShortType reports whether t is one of the short attestation type names.
func IsShortType(t string) bool {
	_, ok := shortTypes[t]
	return ok
}

// PredicateTypes returns the in-toto predicateType values this attestation
// accepts: the URIs behind a short name, or the type itself when it is a URI.
func (a *AttestationPolicy) PredicateTypes() []string {
	if uris, ok := shortTypes[a.Type]; ok {
		return append([]string(nil), uris...)
	}
	return []string{a.Type}
}

// IsVulnerabilityType reports whether the attestation's type is the vuln
// short name or one of the URIs it stands for.
func (a *AttestationPolicy) IsVulnerabilityType() bool {
	for _, u := range shortTypes[AttestationTypeVuln] {
		if a.Type == u {
			return true
		}
	}
	return a.Type == AttestationTypeVuln
}

// MaxAgeDuration parses maxAge. Zero with a nil error means no age limit.
func (a *AttestationPolicy) MaxAgeDuration() (time.Duration, error) {
	if a.MaxAge == "" {
		return 0, nil
	}
	return positiveMaxAge(a.MaxAge)
}

// positiveMaxAge parses a maxAge value that must be a positive duration.
func positiveMaxAge(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("maxAge %q must be greater than zero", s)
	}
	return d, nil
}

// ParseExpiry parses an exception's expires value and returns the first
// instant at which the exception no longer applies. A date (2006-01-02) means
// the exception holds through that whole day in UTC; an RFC 3339 time is
// taken as is.
func ParseExpiry(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expires %q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return t, nil
}

// ActiveAt reports whether the exception applies at now. An unparseable
// expiry is never active (fail closed).
func (e *VulnerabilityException) ActiveAt(now time.Time) bool {
	end, err := ParseExpiry(e.Expires)
	return err == nil && now.Before(end)
}

// AppliesTo reports whether the exception covers repo: every image when
// images is empty, else the repositories matching one of its globs.
func (e *VulnerabilityException) AppliesTo(repo string) bool {
	return len(e.Images) == 0 || MatchAnyGlob(e.Images, repo)
}

// Denies reports whether a finding of this severity fails the check.
func (v *VulnerabilityPolicy) Denies(severity string) bool {
	for _, d := range v.Deny {
		if strings.EqualFold(d, severity) {
			return true
		}
	}
	return false
}

// Excludes reports whether repo matches one of images.exclude.
func (p *ImagePolicy) Excludes(repo string) bool {
	return p != nil && MatchAnyGlob(p.Exclude, repo)
}

// Authority returns the authority with this name, or nil.
func (s *SecurityGateSpec) Authority(name string) *Authority {
	for i := range s.Authorities {
		if s.Authorities[i].Name == name {
			return &s.Authorities[i]
		}
	}
	return nil
}

// AttestationAuthorities returns the authority names an attestation may be
// signed by: its own list, or images.authorities when that list is empty.
func (s *SecurityGateSpec) AttestationAuthorities(a *AttestationPolicy) []string {
	if len(a.Authorities) > 0 || s.Images == nil {
		return a.Authorities
	}
	return s.Images.Authorities
}

// ParsePublicKeys parses PEM data holding one or more public keys (PKIX
// "PUBLIC KEY" or PKCS #1 "RSA PUBLIC KEY" blocks). Anything else in the data,
// including text between blocks, is an error: a key that silently failed to
// parse would shrink the trusted set.
func ParsePublicKeys(data string) ([]crypto.PublicKey, error) {
	rest := []byte(data)
	var keys []crypto.PublicKey
	for n := 1; ; n++ {
		if len(strings.TrimSpace(string(rest))) == 0 {
			break
		}
		// pem.Decode skips text before a block and broken blocks; both would
		// hide a key the author meant to trust, so reject them here.
		if !strings.HasPrefix(strings.TrimSpace(string(rest)), "-----BEGIN ") {
			return nil, fmt.Errorf("PEM block %d: text outside a PEM block", n)
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("PEM block %d: not a valid PEM block", n)
		}
		var k crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, fmt.Errorf("PEM block %d: type %q is not a public key (want PUBLIC KEY)", n, block.Type)
		}
		if err != nil {
			// x509's ASN.1 details help nobody writing a policy.
			return nil, fmt.Errorf("PEM block %d (%s): not a valid public key", n, block.Type)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	if begins := strings.Count(data, "-----BEGIN "); begins != len(keys) {
		return nil, fmt.Errorf("%d PEM blocks begin but only %d decode", begins, len(keys))
	}
	return keys, nil
}
