package v1alpha1

// ProvenancePolicy says what the signed SLSA provenance of an artifact the
// run built must show, for the artifacts a gate verifies as build outputs
// (the images a gate after the build task receives from that task's
// results). Provenance is read as Tekton Chains writes it: SLSA v0.2
// (Chains formats in-toto and slsa/v1) and SLSA v1 (slsa/v2alpha3 and
// slsa/v2alpha4). Every rule is on unless switched off.
type ProvenancePolicy struct {
	// Authorities are the names of the authorities the provenance may be
	// signed by (the key Chains signs with); empty means images.authorities.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	Authorities []string `json:"authorities,omitempty"`

	// BuilderIDs lists the accepted builder ids (builder.id in SLSA v0.2,
	// runDetails.builder.id in SLSA v1), compared exactly. Chains writes
	// https://tekton.dev/chains/v2 unless chains-config sets builder.id.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	BuilderIDs []string `json:"builderIDs"`

	// RunBinding is Required (default) or Off. Required: the provenance must
	// name the TaskRun of this PipelineRun that produced the artifact (SLSA
	// v1: runDetails.metadata.invocationId is that TaskRun's UID), so an
	// artifact built elsewhere, or by another run, and injected through a
	// result does not pass. SLSA v0.2 provenance names no TaskRun: it fails
	// this rule, and the finding says which Chains format to configure.
	// +optional
	// +kubebuilder:default=Required
	RunBinding ProvenanceRequirement `json:"runBinding,omitempty"`

	// TrustedCode is Required (default) or Off. Required: the task definition
	// the provenance names (SLSA v1: the resolved dependency "task"; SLSA
	// v0.2: invocation.configSource) is a Tekton bundle pinned by digest
	// whose signature verifies against bundles.authorities, and every step
	// and sidecar image it lists is pinned by digest.
	// +optional
	// +kubebuilder:default=Required
	TrustedCode ProvenanceRequirement `json:"trustedCode,omitempty"`

	// Source, when set, requires source repositories in the provenance
	// (git materials, e.g. from CHAINS-GIT_URL and CHAINS-GIT_COMMIT
	// results) and every one of them to match.
	// +optional
	Source *ProvenanceSourcePolicy `json:"source,omitempty"`
}

// ProvenanceRequirement switches a provenance rule on or off.
// +kubebuilder:validation:Enum=Required;Off
type ProvenanceRequirement string

const (
	ProvenanceRequired ProvenanceRequirement = "Required"
	ProvenanceOff      ProvenanceRequirement = "Off"
)

// ProvenanceSourcePolicy matches the source repositories a provenance lists.
// Repository URLs are compared without the "git+" prefix and ".git" suffix
// Chains adds (git+https://github.com/acme/app.git is
// https://github.com/acme/app); revisions are the commit digests. Regular
// expressions are RE2, matched against the whole value.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.repository) && size(self.repository) > 0 && has(self.repositoryRegExp) && size(self.repositoryRegExp) > 0)",message="at most one of repository and repositoryRegExp"
// +kubebuilder:validation:XValidation:rule="!(has(self.revision) && size(self.revision) > 0 && has(self.revisionRegExp) && size(self.revisionRegExp) > 0)",message="at most one of revision and revisionRegExp"
// +kubebuilder:validation:XValidation:rule="(has(self.repository) && size(self.repository) > 0) || (has(self.repositoryRegExp) && size(self.repositoryRegExp) > 0) || (has(self.revision) && size(self.revision) > 0) || (has(self.revisionRegExp) && size(self.revisionRegExp) > 0)",message="set repository, repositoryRegExp, revision or revisionRegExp"
type ProvenanceSourcePolicy struct {
	// Repository is the exact repository URL every source must have.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Repository string `json:"repository,omitempty"`
	// RepositoryRegExp matches the whole repository URL of every source.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="a Go (RE2) regular expression"
	RepositoryRegExp string `json:"repositoryRegExp,omitempty"`
	// Revision is the exact revision (commit) every source must have.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Revision string `json:"revision,omitempty"`
	// RevisionRegExp matches the whole revision of every source.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="a Go (RE2) regular expression"
	RevisionRegExp string `json:"revisionRegExp,omitempty"`
}
