package v1alpha1

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/apis"
)

var (
	_ apis.Validatable = (*SecurityGate)(nil)
	_ apis.Validatable = (*ClusterSecurityGate)(nil)
)

// Validate checks the SecurityGate's spec; paths start at "spec".
func (g *SecurityGate) Validate(ctx context.Context) *apis.FieldError {
	return g.Spec.Validate(ctx).ViaField("spec")
}

// Validate checks the ClusterSecurityGate's spec; paths start at "spec".
func (g *ClusterSecurityGate) Validate(ctx context.Context) *apis.FieldError {
	return g.Spec.Validate(ctx).ViaField("spec")
}

// Validate checks the whole spec and returns every problem found, each naming
// its field path relative to the spec and what is allowed. Empty mode,
// gateOrder and level are accepted (they mean the default), so a spec may be
// validated before or after SetDefaults.
func (s *SecurityGateSpec) Validate(context.Context) *apis.FieldError {
	var errs *apis.FieldError
	errs = errs.Also(oneOf(string(s.Mode), "mode", "", string(ModeEnforce), string(ModeWarn)))
	errs = errs.Also(oneOf(string(s.GateOrder), "gateOrder",
		"", string(GateOrderEnforce), string(GateOrderWarn), string(GateOrderOff)))

	known := map[string]int{}
	for i := range s.Authorities {
		a := &s.Authorities[i]
		errs = errs.Also(a.validate().ViaFieldIndex("authorities", i))
		errs = errs.Also(uniqueName(known, a.Name, "authority", "authorities", i))
	}

	if s.Namespaces != nil {
		for i, ns := range s.Namespaces.Deny {
			if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
				errs = errs.Also(detail(apis.ErrInvalidArrayValue(ns, "deny", i),
					"a namespace name: "+strings.Join(msgs, "; ")).ViaField("namespaces"))
			}
		}
	}
	if s.Bundles != nil {
		errs = errs.Also(refs(s.Bundles.Authorities, known).ViaField("bundles"))
	}
	if s.Images != nil {
		errs = errs.Also(refs(s.Images.Authorities, known).ViaField("images"))
		errs = errs.Also(globs(s.Images.Exclude, "exclude").ViaField("images"))
	}

	seen := map[string]int{}
	for i := range s.Attestations {
		a := &s.Attestations[i]
		errs = errs.Also(a.validate(known).ViaFieldIndex("attestations", i))
		if len(s.AttestationAuthorities(a)) == 0 {
			// An attestation nobody is trusted to sign proves nothing.
			errs = errs.Also(apis.ErrGeneric("no authority may sign this attestation: set it, or spec.images.authorities",
				"authorities").ViaFieldIndex("attestations", i))
		}
		errs = errs.Also(uniqueName(seen, a.Name, "attestation", "attestations", i))
	}

	errs = errs.Also(s.validateVEXAndSummaries(known))
	errs = errs.Also(s.validateProvenance(known))
	errs = errs.Also(s.CustomTasks.validate().ViaField("customTasks"))

	if s.SecurityContext != nil {
		errs = errs.Also(oneOf(string(s.SecurityContext.Level), "securityContext.level",
			"", string(LevelPrivileged), string(LevelBaseline), string(LevelRestricted)))
	}
	return errs
}

// ValidateNoSecretRefs rejects key authorities that use secretRef. Only the
// controller can resolve a Secret; the CLI calls this so that such a policy
// fails with a clear message instead of trusting no key.
func (s *SecurityGateSpec) ValidateNoSecretRefs() *apis.FieldError {
	var errs *apis.FieldError
	for i := range s.Authorities {
		if k := s.Authorities[i].Key; k != nil && k.SecretRef != nil {
			errs = errs.Also(apis.ErrGeneric(
				"key.secretRef is resolved only by the controller; outside the cluster put the PEM public keys in key.data",
				"key.secretRef").ViaFieldIndex("authorities", i))
		}
	}
	return errs
}

func (a *Authority) validate() *apis.FieldError {
	var errs *apis.FieldError
	if a.Name == "" {
		errs = errs.Also(apis.ErrMissingField("name"))
	}
	switch {
	case a.Key == nil && a.Keyless == nil:
		errs = errs.Also(apis.ErrMissingOneOf("key", "keyless"))
	case a.Key != nil && a.Keyless != nil:
		errs = errs.Also(apis.ErrMultipleOneOf("key", "keyless"))
	case a.Key != nil:
		errs = errs.Also(a.Key.validate().ViaField("key"))
	default:
		errs = errs.Also(a.Keyless.validate().ViaField("keyless"))
	}
	return errs
}

func (k *KeyAuthority) validate() *apis.FieldError {
	switch {
	case k.Data == "" && k.SecretRef == nil:
		return apis.ErrMissingOneOf("data", "secretRef")
	case k.Data != "" && k.SecretRef != nil:
		return apis.ErrMultipleOneOf("data", "secretRef")
	case k.SecretRef != nil:
		var errs *apis.FieldError
		if k.SecretRef.Name == "" {
			errs = errs.Also(apis.ErrMissingField("secretRef.name"))
		}
		if k.SecretRef.Key == "" {
			errs = errs.Also(apis.ErrMissingField("secretRef.key"))
		}
		return errs
	}
	if _, err := ParsePublicKeys(k.Data); err != nil {
		return &apis.FieldError{
			Message: "invalid value: " + err.Error(),
			Paths:   []string{"data"},
			Details: "one or more PEM-encoded public keys (-----BEGIN PUBLIC KEY-----)",
		}
	}
	return nil
}

func (k *KeylessAuthority) validate() *apis.FieldError {
	errs := exactlyOne(k.Issuer, k.IssuerRegExp, "issuer", "issuerRegExp")
	errs = errs.Also(exactlyOne(k.Subject, k.SubjectRegExp, "subject", "subjectRegExp"))
	errs = errs.Also(regexpField(k.IssuerRegExp, "issuerRegExp"))
	errs = errs.Also(regexpField(k.SubjectRegExp, "subjectRegExp"))
	errs = errs.Also(k.validateTrust())
	if k.TrustedRoot != nil {
		var doc map[string]any
		switch {
		case k.TrustedRoot.Data == "":
			errs = errs.Also(apis.ErrMissingField("trustedRoot.data"))
		case json.Unmarshal([]byte(k.TrustedRoot.Data), &doc) != nil:
			errs = errs.Also(apis.ErrInvalidValue("not a JSON object", "trustedRoot.data",
				"a Sigstore trusted_root.json document"))
		}
	}
	return errs
}

func (a *AttestationPolicy) validate(known map[string]int) *apis.FieldError {
	var errs *apis.FieldError
	if a.Name == "" {
		errs = errs.Also(apis.ErrMissingField("name"))
	}
	switch {
	case a.Type == "":
		errs = errs.Also(apis.ErrMissingField("type"))
	case !IsShortType(a.Type) && !isPredicateURI(a.Type):
		errs = errs.Also(apis.ErrInvalidValue(a.Type, "type",
			"vuln, slsaprovenance, slsaprovenance1, or a predicateType URI such as https://example.com/predicate/v1"))
	}
	errs = errs.Also(refs(a.Authorities, known))
	if a.MaxAge != "" {
		if _, err := a.MaxAgeDuration(); err != nil {
			errs = errs.Also(apis.ErrInvalidValue(a.MaxAge, "maxAge",
				"a positive Go duration such as 168h or 30m"))
		}
	}
	if v := a.Vulnerabilities; v != nil {
		if a.Type == AttestationTypeSLSAProvenance || a.Type == AttestationTypeSLSAProvenance1 {
			errs = errs.Also(apis.ErrGeneric(
				fmt.Sprintf("vulnerabilities applies to vulnerability-scan attestations, not type %q", a.Type),
				"vulnerabilities"))
		}
		errs = errs.Also(v.validate().ViaField("vulnerabilities"))
	}
	return errs
}

func (v *VulnerabilityPolicy) validate() *apis.FieldError {
	var errs *apis.FieldError
	for i, sev := range v.Deny {
		if !isSeverity(strings.TrimSpace(sev)) {
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(sev, "deny", i),
				"one of "+strings.Join(Severities, ", ")+" (case-insensitive)"))
		}
	}
	for i := range v.Exceptions {
		errs = errs.Also(v.Exceptions[i].validate().ViaFieldIndex("exceptions", i))
	}
	return errs
}

func (e *VulnerabilityException) validate() *apis.FieldError {
	var errs *apis.FieldError
	if e.ID == "" {
		errs = errs.Also(apis.ErrMissingField("id"))
	}
	if e.Reason == "" {
		errs = errs.Also(apis.ErrMissingField("reason"))
	}
	if e.Expires == "" {
		errs = errs.Also(apis.ErrMissingField("expires"))
	} else if _, err := ParseExpiry(e.Expires); err != nil {
		errs = errs.Also(apis.ErrInvalidValue(e.Expires, "expires",
			"a date (2006-01-02) or an RFC 3339 time (2006-01-02T15:04:05Z)"))
	}
	return errs.Also(globs(e.Images, "images"))
}

// isPredicateURI accepts an absolute URI (scheme and host or opaque part) or
// a scheme-less host/path such as cosign.sigstore.dev/attestation/vuln/v1.
func isPredicateURI(t string) bool {
	if strings.ContainsAny(t, " \t\r\n") {
		return false
	}
	u, err := url.Parse(t)
	if err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") {
		return true
	}
	host, rest, ok := strings.Cut(t, "/")
	if !ok || rest == "" || !strings.Contains(host, ".") {
		return false
	}
	return len(validation.IsDNS1123Subdomain(strings.ToLower(host))) == 0
}

func oneOf(v, field string, allowed ...string) *apis.FieldError {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return apis.ErrInvalidValue(v, field, "allowed: "+strings.Join(allowed[1:], ", "))
}

func exactlyOne(a, b, fa, fb string) *apis.FieldError {
	switch {
	case a == "" && b == "":
		return apis.ErrMissingOneOf(fa, fb)
	case a != "" && b != "":
		return apis.ErrMultipleOneOf(fa, fb)
	}
	return nil
}

func regexpField(re, field string) *apis.FieldError {
	if re == "" {
		return nil
	}
	if _, err := CompileWhole(re); err != nil {
		if _, rawErr := regexp.Compile(re); rawErr != nil {
			err = rawErr // names the author's pattern, not the anchored one
		}
		return apis.ErrInvalidValue(re, field,
			"a Go (RE2) regular expression, matched against the whole value: "+err.Error())
	}
	return nil
}

// uniqueName records name as standing at list[i] in seen and reports a name
// used before; an empty name is left to the entry's own validation.
func uniqueName(seen map[string]int, name, what, list string, i int) *apis.FieldError {
	if name == "" {
		return nil
	}
	if first, dup := seen[name]; dup {
		return apis.ErrGeneric(fmt.Sprintf("duplicate %s name %q (first at %s[%d]); names must be unique", what, name, list, first),
			"name").ViaFieldIndex(list, i)
	}
	seen[name] = i
	return nil
}

// refs checks that every name in authorities is a defined authority.
func refs(names []string, known map[string]int) *apis.FieldError {
	var errs *apis.FieldError
	for i, n := range names {
		if _, ok := known[n]; !ok {
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(n, "authorities", i),
				"unknown authority; defined: "+knownNames(known)))
		}
	}
	return errs
}

func knownNames(known map[string]int) string {
	if len(known) == 0 {
		return "none (spec.authorities is empty)"
	}
	return strings.Join(slices.Sorted(maps.Keys(known)), ", ")
}

// globs checks each pattern with path.Match semantics and rejects tags and
// digests, which a repository glob can never match.
func globs(patterns []string, field string) *apis.FieldError {
	var errs *apis.FieldError
	for i, p := range patterns {
		_, err := path.Match(p, "")
		last := p[strings.LastIndex(p, "/")+1:]
		switch {
		case p == "":
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(p, field, i), "a non-empty glob"))
		case err != nil:
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(p, field, i),
				"a path.Match glob on the repository (*, ?, [a-z]): "+err.Error()))
		case strings.Contains(p, "@") || strings.Contains(last, ":"):
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(p, field, i),
				"a glob on the repository without tag or digest, e.g. registry.example.com/team/*"))
		}
	}
	return errs
}

func detail(fe *apis.FieldError, details string) *apis.FieldError {
	fe.Details = details
	return fe
}
