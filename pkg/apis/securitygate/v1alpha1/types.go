package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SecurityGate is a namespaced verification policy. A gate run in the same
// namespace may reference it by customRef (when config-security-gate allows
// namespaced policies).
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type SecurityGate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SecurityGateSpec `json:"spec"`
}

// SecurityGateList is a list of SecurityGates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type SecurityGateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecurityGate `json:"items"`
}

// ClusterSecurityGate is a cluster-scoped verification policy, chosen by the
// platform team. It is the only kind honoured by default.
//
// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ClusterSecurityGate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SecurityGateSpec `json:"spec"`
}

// ClusterSecurityGateList is a list of ClusterSecurityGates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ClusterSecurityGateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSecurityGate `json:"items"`
}

// Mode says what a violation does to the gate's verdict.
type Mode string

const (
	// ModeEnforce fails the gate on any violation.
	ModeEnforce Mode = "Enforce"
	// ModeWarn reports violations as warnings and lets the gate pass.
	ModeWarn Mode = "Warn"
)

// GateOrderMode says how the gate-order check reports work that could run
// without the gate having succeeded.
type GateOrderMode string

const (
	GateOrderEnforce GateOrderMode = "Enforce"
	GateOrderWarn    GateOrderMode = "Warn"
	GateOrderOff     GateOrderMode = "Off"
)

// SecurityContextLevel is a Kubernetes Pod Security Standards level.
type SecurityContextLevel string

const (
	// LevelPrivileged applies no security-context rule.
	LevelPrivileged SecurityContextLevel = "privileged"
	LevelBaseline   SecurityContextLevel = "baseline"
	LevelRestricted SecurityContextLevel = "restricted"
)

// SecurityGateSpec is the policy shared by SecurityGate and ClusterSecurityGate,
// and the shape of an inline customSpec policy.
type SecurityGateSpec struct {
	// Mode is Enforce (default) or Warn.
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// Authorities are the named trust anchors that bundles, images and
	// attestations refer to by name.
	// +optional
	Authorities []Authority `json:"authorities,omitempty"`

	// Namespaces restricts where runs may live.
	// +optional
	Namespaces *NamespacePolicy `json:"namespaces,omitempty"`

	// Bundles says where pipelines and tasks must come from.
	// +optional
	Bundles *BundlePolicy `json:"bundles,omitempty"`

	// Images says how step and sidecar images must be pinned and signed.
	// +optional
	Images *ImagePolicy `json:"images,omitempty"`

	// Attestations lists the signed attestations every verified image must carry.
	// +optional
	Attestations []AttestationPolicy `json:"attestations,omitempty"`

	// SecurityContext is the Pod Security Standards level every step and
	// sidecar must meet.
	// +optional
	SecurityContext *SecurityContextPolicy `json:"securityContext,omitempty"`

	// GateOrder is Enforce (default), Warn or Off.
	// +optional
	GateOrder GateOrderMode `json:"gateOrder,omitempty"`
}

// Authority is a named trust anchor: exactly one of Key and Keyless.
type Authority struct {
	// Name is how bundles, images and attestations refer to this authority.
	Name string `json:"name"`

	// Key trusts signatures made with one of a set of public keys.
	// +optional
	Key *KeyAuthority `json:"key,omitempty"`

	// Keyless trusts Fulcio-style certificates with a matching identity.
	// +optional
	Keyless *KeylessAuthority `json:"keyless,omitempty"`

	// IgnoreTlog accepts signatures that carry no transparency-log proof.
	// +optional
	IgnoreTlog bool `json:"ignoreTlog,omitempty"`

	// IgnoreSCT accepts keyless certificates without an embedded
	// certificate-transparency timestamp (private CAs).
	// +optional
	IgnoreSCT bool `json:"ignoreSCT,omitempty"`
}

// KeyAuthority holds public keys, inline or in a Secret.
type KeyAuthority struct {
	// Data is one or more PEM-encoded public keys.
	// +optional
	Data string `json:"data,omitempty"`

	// SecretRef names a Secret key holding PEM public keys (controller only).
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
}

// SecretKeyRef points at one key of a Secret. The namespace is not
// configurable: it is the controller's for a ClusterSecurityGate and the
// policy's own for a SecurityGate.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// KeylessAuthority matches certificate identities. Regular expressions are
// matched against the whole value (anchored).
type KeylessAuthority struct {
	// +optional
	Issuer string `json:"issuer,omitempty"`
	// +optional
	IssuerRegExp string `json:"issuerRegExp,omitempty"`
	// +optional
	Subject string `json:"subject,omitempty"`
	// +optional
	SubjectRegExp string `json:"subjectRegExp,omitempty"`

	// TrustedRoot is a Sigstore trusted_root.json to verify against offline.
	// +optional
	TrustedRoot *TrustedRoot `json:"trustedRoot,omitempty"`
}

// TrustedRoot holds a Sigstore trusted root document.
type TrustedRoot struct {
	// Data is the trusted_root.json content.
	// +optional
	Data string `json:"data,omitempty"`
}

// NamespacePolicy restricts the namespaces runs may use.
type NamespacePolicy struct {
	// Deny lists forbidden namespaces. Unset means [default].
	// +optional
	Deny []string `json:"deny,omitempty"`
}

// BundlePolicy says where pipelines and tasks must come from.
type BundlePolicy struct {
	// Required demands that the pipelineRef and every taskRef be a Tekton bundle.
	// +optional
	Required bool `json:"required,omitempty"`
	// RequireDigest demands that bundle references be pinned by digest.
	// +optional
	RequireDigest bool `json:"requireDigest,omitempty"`
	// Authorities are the names of the authorities a bundle signature may come from.
	// +optional
	Authorities []string `json:"authorities,omitempty"`
}

// ImagePolicy says how step and sidecar images must be pinned and signed.
type ImagePolicy struct {
	// RequireDigest demands step and sidecar images pinned by digest.
	// +optional
	RequireDigest bool `json:"requireDigest,omitempty"`
	// Authorities are the names of the authorities an image signature may come from.
	// +optional
	Authorities []string `json:"authorities,omitempty"`
	// Exclude holds globs on the repository (no tag, no digest) whose images
	// skip signature and attestation checks.
	// +optional
	Exclude []string `json:"exclude,omitempty"`
}

// AttestationPolicy is one attestation every verified image must carry.
type AttestationPolicy struct {
	// Name identifies this entry in reports.
	Name string `json:"name"`
	// Type is a short name (vuln, slsaprovenance, slsaprovenance1) or a
	// full predicateType URI.
	Type string `json:"type"`
	// Authorities are the names of the authorities the attestation may be signed by.
	// +optional
	Authorities []string `json:"authorities,omitempty"`
	// MaxAge is a Go duration (e.g. 168h): the scan must have finished within
	// this long before now.
	// +optional
	MaxAge string `json:"maxAge,omitempty"`
	// Vulnerabilities judges the findings of a vulnerability-scan predicate.
	// +optional
	Vulnerabilities *VulnerabilityPolicy `json:"vulnerabilities,omitempty"`
}

// VulnerabilityPolicy judges vulnerability-scan findings.
type VulnerabilityPolicy struct {
	// Deny lists severities that fail the check (case-insensitive).
	// +optional
	Deny []string `json:"deny,omitempty"`
	// IgnoreUnfixed drops findings with no fixed version.
	// +optional
	IgnoreUnfixed bool `json:"ignoreUnfixed,omitempty"`
	// Exceptions are accepted findings, each with an expiry and a reason.
	// +optional
	Exceptions []VulnerabilityException `json:"exceptions,omitempty"`
}

// VulnerabilityException accepts one vulnerability id until it expires.
type VulnerabilityException struct {
	// ID is the vulnerability id, e.g. CVE-2024-0001.
	ID string `json:"id"`
	// Expires is a date (2006-01-02) or an RFC 3339 time; required.
	Expires string `json:"expires"`
	// Reason says why the finding is accepted; required.
	Reason string `json:"reason"`
	// Images limits the exception to repositories matching these globs.
	// +optional
	Images []string `json:"images,omitempty"`
}

// SecurityContextPolicy chooses the Pod Security Standards level.
type SecurityContextPolicy struct {
	// Level is baseline or restricted (default), or privileged to apply no rule.
	// +optional
	Level SecurityContextLevel `json:"level,omitempty"`
}
