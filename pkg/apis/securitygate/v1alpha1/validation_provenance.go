package v1alpha1

import (
	"fmt"
	"strings"

	"knative.dev/pkg/apis"
)

// validateProvenance checks spec.provenance; authority names must be defined
// in known.
func (s *SecurityGateSpec) validateProvenance(known map[string]int) *apis.FieldError {
	p := s.Provenance
	if p == nil {
		return nil
	}
	var errs *apis.FieldError
	errs = errs.Also(refs(p.Authorities, known))
	if len(s.ProvenanceAuthorities()) == 0 {
		// Provenance nobody is trusted to sign proves nothing.
		errs = errs.Also(apis.ErrGeneric("no authority may sign the provenance: set it, or spec.images.authorities",
			"authorities"))
	}
	if len(p.BuilderIDs) == 0 {
		errs = errs.Also(detail(apis.ErrMissingField("builderIDs"),
			"the accepted builder ids, e.g. https://tekton.dev/chains/v2 (Chains' default builder.id)"))
	}
	for i, id := range p.BuilderIDs {
		if strings.TrimSpace(id) == "" {
			errs = errs.Also(detail(apis.ErrInvalidArrayValue(id, "builderIDs", i), "a non-empty builder id, compared exactly"))
		}
	}
	errs = errs.Also(oneOf(string(p.RunBinding), "runBinding", "", string(ProvenanceRequired), string(ProvenanceOff)))
	errs = errs.Also(oneOf(string(p.TrustedCode), "trustedCode", "", string(ProvenanceRequired), string(ProvenanceOff)))
	if p.TrustedCode != ProvenanceOff && (s.Bundles == nil || len(s.Bundles.Authorities) == 0) {
		// The build task's bundle is verified against bundles.authorities:
		// with none, no bundle could ever be trusted.
		errs = errs.Also(apis.ErrGeneric(fmt.Sprintf(
			"trustedCode %s verifies the build task's bundle against spec.bundles.authorities, which is empty: set bundles.authorities, or trustedCode: Off",
			ProvenanceRequired), "trustedCode"))
	}
	if p.Source != nil {
		errs = errs.Also(p.Source.validate().ViaField("source"))
	}
	return errs.ViaField("provenance")
}

func (s *ProvenanceSourcePolicy) validate() *apis.FieldError {
	var errs *apis.FieldError
	if s.Repository != "" && s.RepositoryRegExp != "" {
		errs = errs.Also(apis.ErrMultipleOneOf("repository", "repositoryRegExp"))
	}
	if s.Revision != "" && s.RevisionRegExp != "" {
		errs = errs.Also(apis.ErrMultipleOneOf("revision", "revisionRegExp"))
	}
	if s.Repository == "" && s.RepositoryRegExp == "" && s.Revision == "" && s.RevisionRegExp == "" {
		errs = errs.Also(apis.ErrMissingOneOf("repository", "repositoryRegExp", "revision", "revisionRegExp"))
	}
	errs = errs.Also(regexpField(s.RepositoryRegExp, "repositoryRegExp"))
	errs = errs.Also(regexpField(s.RevisionRegExp, "revisionRegExp"))
	return errs
}
