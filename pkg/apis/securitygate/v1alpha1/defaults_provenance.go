package v1alpha1

// setDefaults switches on every provenance rule that is not set: a policy
// that asks for provenance gets the strict reading of it.
//
//   - runBinding: Required
//   - trustedCode: Required
func (p *ProvenancePolicy) setDefaults() {
	if p == nil {
		return
	}
	if p.RunBinding == "" {
		p.RunBinding = ProvenanceRequired
	}
	if p.TrustedCode == "" {
		p.TrustedCode = ProvenanceRequired
	}
}

// ProvenanceAuthorities returns the names of the authorities that may sign
// the provenance: provenance.authorities, or images.authorities when that is
// empty. Nil when the policy has no provenance rules.
func (s *SecurityGateSpec) ProvenanceAuthorities() []string {
	if s.Provenance == nil {
		return nil
	}
	if len(s.Provenance.Authorities) > 0 {
		return s.Provenance.Authorities
	}
	if s.Images != nil {
		return s.Images.Authorities
	}
	return nil
}
