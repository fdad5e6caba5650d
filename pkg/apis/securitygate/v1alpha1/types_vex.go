package v1alpha1

// VEXPolicy trusts signed VEX statements (OpenVEX v0.2.0) to drop findings of
// a vulnerability scan: not_affected (with a justification or an impact
// statement) and fixed drop a finding, affected and under_investigation keep
// it. Only statements signed by one of Authorities count; without a
// VEXPolicy, VEX attached to an image changes nothing (the report notes that
// it was present but not trusted).
type VEXPolicy struct {
	// Authorities are the names of the authorities whose VEX is trusted:
	// OpenVEX attestations on the image (cosign attest --type openvex, either
	// cosign layout) and the signatures of the documents listed below.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	Authorities []string `json:"authorities"`

	// Documents are OpenVEX documents published as OCI artifacts, each named
	// by digest with its registry (registry/repository@sha256:<hex>): an artifact with one
	// layer holding the document, signed with cosign by one of Authorities.
	// Their statements apply to the images their products name.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=1024
	// +kubebuilder:validation:items:Pattern=`^[^@/ ]+/[^@ ]+@sha256:[a-f0-9]{64}$`
	Documents []string `json:"documents,omitempty"`
}
