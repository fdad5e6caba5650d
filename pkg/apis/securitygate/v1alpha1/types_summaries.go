package v1alpha1

// AcceptSummariesPolicy accepts a fresh verification summary attestation
// (https://slsa.dev/verification_summary/v1, VSA) written by a trusted gate
// instead of verifying an image's signature and attestations again: a
// promotion pipeline then does not redo what the build pipeline's gate
// proved. The VSA must be signed by one of Authorities, be about exactly the
// image's digest, say PASSED, name one of Policies and have been verified
// within MaxAge. Otherwise the image is verified as usual.
type AcceptSummariesPolicy struct {
	// Authorities are the names of the authorities whose summaries are
	// trusted (the signing keys of the gates that wrote them).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	Authorities []string `json:"authorities"`

	// MaxAge is a Go duration (e.g. 24h): the summary's timeVerified must be
	// within this long before now.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="a positive Go duration such as 24h"
	MaxAge string `json:"maxAge"`

	// Policies are the policies a summary may name: a summary written by a
	// gate judging another policy is not accepted.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Policies []SummaryPolicyRef `json:"policies"`
}

// SummaryPolicyRef names a policy a verification summary may record.
//
// +kubebuilder:validation:XValidation:rule="!has(self.__namespace__) || self.kind == 'SecurityGate'",message="namespace applies only to kind SecurityGate"
type SummaryPolicyRef struct {
	// Kind is ClusterSecurityGate or SecurityGate.
	// +kubebuilder:validation:Enum=ClusterSecurityGate;SecurityGate
	Kind string `json:"kind"`
	// Name is the policy's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Namespace is the SecurityGate's namespace; unset matches a summary
	// whose policy has no namespace (a policy file given to the CLI).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
	// Digest pins the policy's content: sha256:<hex> of its spec as the
	// summary records it (policy.digest). Unset accepts any content.
	// +optional
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	Digest string `json:"digest,omitempty"`
}
