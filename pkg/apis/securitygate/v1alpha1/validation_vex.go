package v1alpha1

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/apis"
)

// validateVEXAndSummaries checks attestations[].vulnerabilities.vex and
// images.acceptSummaries, whose authority names must be defined in known.
func (s *SecurityGateSpec) validateVEXAndSummaries(known map[string]int) *apis.FieldError {
	var errs *apis.FieldError
	for i := range s.Attestations {
		v := s.Attestations[i].Vulnerabilities
		if v == nil || v.VEX == nil {
			continue
		}
		errs = errs.Also(v.VEX.validate(known).ViaField("vulnerabilities", "vex").ViaFieldIndex("attestations", i))
	}
	if s.Images != nil && s.Images.AcceptSummaries != nil {
		errs = errs.Also(s.Images.AcceptSummaries.validate(known).ViaField("images", "acceptSummaries"))
	}
	return errs
}

func (v *VEXPolicy) validate(known map[string]int) *apis.FieldError {
	var errs *apis.FieldError
	if len(v.Authorities) == 0 {
		// VEX nobody may sign drops nothing: the block would be a no-op.
		errs = errs.Also(apis.ErrMissingField("authorities"))
	}
	errs = errs.Also(refs(v.Authorities, known))
	for i, d := range v.Documents {
		if err := checkDigestRef(d); err != nil {
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(d, "documents", i),
				"an OCI artifact pinned by digest, registry.example.com/vex/app@sha256:<64 hex>: "+err.Error()))
		}
	}
	return errs
}

// checkDigestRef accepts repository@sha256:<hex> as go-containerregistry
// reads it, without defaulting anything the author did not write.
func checkDigestRef(ref string) error {
	_, digest, ok := strings.Cut(ref, "@")
	if !ok || !sha256Digest.MatchString(digest) {
		return fmt.Errorf("no @sha256:<64 hex> digest")
	}
	_, err := name.NewDigest(ref, name.StrictValidation)
	return err
}

var sha256Digest = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

func (a *AcceptSummariesPolicy) validate(known map[string]int) *apis.FieldError {
	var errs *apis.FieldError
	if len(a.Authorities) == 0 {
		errs = errs.Also(apis.ErrMissingField("authorities"))
	}
	errs = errs.Also(refs(a.Authorities, known))
	if a.MaxAge == "" {
		errs = errs.Also(apis.ErrMissingField("maxAge"))
	} else if _, err := a.MaxAgeDuration(); err != nil {
		errs = errs.Also(apis.ErrInvalidValue(a.MaxAge, "maxAge", "a positive Go duration such as 24h or 90m"))
	}
	if len(a.Policies) == 0 {
		errs = errs.Also(apis.ErrMissingField("policies"))
	}
	for i := range a.Policies {
		errs = errs.Also(a.Policies[i].validate().ViaFieldIndex("policies", i))
	}
	return errs
}

func (p *SummaryPolicyRef) validate() *apis.FieldError {
	var errs *apis.FieldError
	switch p.Kind {
	case "":
		errs = errs.Also(apis.ErrMissingField("kind"))
	case KindClusterSecurityGate, KindSecurityGate:
	default:
		errs = errs.Also(apis.ErrInvalidValue(p.Kind, "kind", "allowed: "+KindClusterSecurityGate+", "+KindSecurityGate))
	}
	if p.Name == "" {
		errs = errs.Also(apis.ErrMissingField("name"))
	} else if msgs := validation.IsDNS1123Subdomain(p.Name); len(msgs) > 0 {
		errs = errs.Also(apis.ErrInvalidValue(p.Name, "name", "a policy name: "+strings.Join(msgs, "; ")))
	}
	if p.Namespace != "" {
		if msgs := validation.IsDNS1123Label(p.Namespace); len(msgs) > 0 {
			errs = errs.Also(apis.ErrInvalidValue(p.Namespace, "namespace", "a namespace name: "+strings.Join(msgs, "; ")))
		}
		if p.Kind == KindClusterSecurityGate {
			errs = errs.Also(apis.ErrGeneric("namespace applies only to kind SecurityGate: a ClusterSecurityGate has none", "namespace"))
		}
	}
	if p.Digest != "" && !sha256Digest.MatchString(p.Digest) {
		errs = errs.Also(apis.ErrInvalidValue(p.Digest, "digest", "sha256:<64 lower-case hex> of the policy spec, as a summary's policy.digest records it"))
	}
	return errs
}

// MaxAgeDuration parses maxAge; an empty or non-positive value is an error.
func (a *AcceptSummariesPolicy) MaxAgeDuration() (time.Duration, error) {
	return positiveMaxAge(a.MaxAge)
}
