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
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=sg,categories={tekton,security-gate}
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Level",type=string,JSONPath=`.spec.securityContext.level`
// +kubebuilder:printcolumn:name="Gate-Order",type=string,JSONPath=`.spec.gateOrder`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SecurityGate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SecurityGateSpec `json:"spec"`
}

// SecurityGateList is a list of SecurityGates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
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
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=csg,categories={tekton,security-gate}
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Level",type=string,JSONPath=`.spec.securityContext.level`
// +kubebuilder:printcolumn:name="Gate-Order",type=string,JSONPath=`.spec.gateOrder`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterSecurityGate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SecurityGateSpec `json:"spec"`
}

// ClusterSecurityGateList is a list of ClusterSecurityGates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type ClusterSecurityGateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSecurityGate `json:"items"`
}

// Mode says what a violation does to the gate's verdict.
// +kubebuilder:validation:Enum=Enforce;Warn
type Mode string

const (
	// ModeEnforce fails the gate on any violation.
	ModeEnforce Mode = "Enforce"
	// ModeWarn reports violations as warnings and lets the gate pass.
	ModeWarn Mode = "Warn"
)

// GateOrderMode says how the gate-order check reports work that could run
// without the gate having succeeded.
// +kubebuilder:validation:Enum=Enforce;Warn;Off
type GateOrderMode string

const (
	GateOrderEnforce GateOrderMode = "Enforce"
	GateOrderWarn    GateOrderMode = "Warn"
	GateOrderOff     GateOrderMode = "Off"
)

// SecurityContextLevel is a Kubernetes Pod Security Standards level.
// +kubebuilder:validation:Enum=privileged;baseline;restricted
type SecurityContextLevel string

const (
	// LevelPrivileged applies no security-context rule.
	LevelPrivileged SecurityContextLevel = "privileged"
	LevelBaseline   SecurityContextLevel = "baseline"
	LevelRestricted SecurityContextLevel = "restricted"
)

// SecurityGateSpec is the policy shared by SecurityGate and ClusterSecurityGate,
// and the shape of an inline customSpec policy.
//
// The CEL rules below mirror validation.go; TestCRDAgreesWithValidate keeps
// the two in step.
//
// +kubebuilder:validation:XValidation:rule="!has(self.bundles) || !has(self.bundles.authorities) || self.bundles.authorities.all(n, has(self.authorities) && self.authorities.exists(a, a.name == n))",message="bundles.authorities: every name must be defined in spec.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.images) || !has(self.images.authorities) || self.images.authorities.all(n, has(self.authorities) && self.authorities.exists(a, a.name == n))",message="images.authorities: every name must be defined in spec.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.attestations) || (has(self.images) && has(self.images.authorities) && size(self.images.authorities) > 0) || self.attestations.all(t, has(t.authorities) && size(t.authorities) > 0)",message="attestations[]: no authority may sign the attestation; set its authorities, or images.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.attestations) || self.attestations.all(t, !has(t.authorities) || t.authorities.all(n, has(self.authorities) && self.authorities.exists(a, a.name == n)))",message="attestations[].authorities: every name must be defined in spec.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.attestations) || self.attestations.all(t, !has(t.vulnerabilities) || !has(t.vulnerabilities.vex) || t.vulnerabilities.vex.authorities.all(n, has(self.authorities) && self.authorities.exists(a, a.name == n)))",message="attestations[].vulnerabilities.vex.authorities: every name must be defined in spec.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.images) || !has(self.images.acceptSummaries) || self.images.acceptSummaries.authorities.all(n, has(self.authorities) && self.authorities.exists(a, a.name == n))",message="images.acceptSummaries.authorities: every name must be defined in spec.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.provenance) || !has(self.provenance.authorities) || self.provenance.authorities.all(n, has(self.authorities) && self.authorities.exists(a, a.name == n))",message="provenance.authorities: every name must be defined in spec.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.provenance) || (has(self.provenance.authorities) && size(self.provenance.authorities) > 0) || (has(self.images) && has(self.images.authorities) && size(self.images.authorities) > 0)",message="provenance: no authority may sign the provenance; set provenance.authorities, or images.authorities"
// +kubebuilder:validation:XValidation:rule="!has(self.provenance) || (has(self.provenance.trustedCode) && self.provenance.trustedCode == 'Off') || (has(self.bundles) && has(self.bundles.authorities) && size(self.bundles.authorities) > 0)",message="provenance.trustedCode: Required verifies the build task's bundle against bundles.authorities; set bundles.authorities, or trustedCode: Off"
type SecurityGateSpec struct {
	// Mode is Enforce (default) or Warn: violations are reported as warnings
	// and the gate passes.
	// +optional
	// +kubebuilder:default=Enforce
	Mode Mode `json:"mode,omitempty"`

	// Authorities are the named trust anchors that bundles, images and
	// attestations refer to by name.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Authorities []Authority `json:"authorities,omitempty"`

	// Namespaces restricts where runs may live.
	// +optional
	// +kubebuilder:default={}
	Namespaces *NamespacePolicy `json:"namespaces,omitempty"`

	// Bundles says where pipelines and tasks must come from.
	// +optional
	Bundles *BundlePolicy `json:"bundles,omitempty"`

	// Images says how step and sidecar images must be pinned and signed.
	// +optional
	Images *ImagePolicy `json:"images,omitempty"`

	// Attestations lists the signed attestations every verified image must carry.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Attestations []AttestationPolicy `json:"attestations,omitempty"`

	// Provenance judges the signed SLSA provenance (Tekton Chains) of the
	// artifacts the run built.
	// +optional
	Provenance *ProvenancePolicy `json:"provenance,omitempty"`

	// SecurityContext is the Pod Security Standards level every step and
	// sidecar must meet. Unset means level restricted.
	// +optional
	// +kubebuilder:default={}
	SecurityContext *SecurityContextPolicy `json:"securityContext,omitempty"`

	// GateOrder is Enforce (default), Warn or Off.
	// +optional
	// +kubebuilder:default=Enforce
	GateOrder GateOrderMode `json:"gateOrder,omitempty"`

	// CustomTasks says how custom tasks (run by another controller) are
	// judged: kinds known to run no pods stay a warning.
	// +optional
	CustomTasks *CustomTaskPolicy `json:"customTasks,omitempty"`
}

// Authority is a named trust anchor: exactly one of Key and Keyless.
//
// +kubebuilder:validation:XValidation:rule="has(self.key) != has(self.keyless)",message="exactly one of key and keyless"
type Authority struct {
	// Name is how bundles, images and attestations refer to this authority.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
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
//
// +kubebuilder:validation:XValidation:rule="(has(self.data) && size(self.data) > 0) != has(self.secretRef)",message="exactly one of data and secretRef"
type KeyAuthority struct {
	// Data is one or more PEM-encoded public keys.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	// +kubebuilder:validation:XValidation:rule="self == '' || self.contains('-----BEGIN ')",message="one or more PEM-encoded public keys (-----BEGIN PUBLIC KEY-----)"
	Data string `json:"data,omitempty"`

	// SecretRef names a Secret key holding PEM public keys (controller only).
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
}

// SecretKeyRef points at one key of a Secret. The namespace is not
// configurable: it is the controller's for a ClusterSecurityGate and the
// policy's own for a SecurityGate.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key in the Secret's data whose value holds the PEM public keys.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// KeylessAuthority matches certificate identities. Regular expressions are
// matched against the whole value (anchored).
//
// +kubebuilder:validation:XValidation:rule="(has(self.issuer) && size(self.issuer) > 0) != (has(self.issuerRegExp) && size(self.issuerRegExp) > 0)",message="exactly one of issuer and issuerRegExp"
// +kubebuilder:validation:XValidation:rule="(has(self.subject) && size(self.subject) > 0) != (has(self.subjectRegExp) && size(self.subjectRegExp) > 0)",message="exactly one of subject and subjectRegExp"
// +kubebuilder:validation:XValidation:rule="!has(self.trustedRoot) || !has(self.tuf)",message="at most one of trustedRoot and tuf"
type KeylessAuthority struct {
	// Issuer is the exact OIDC issuer of the signing certificate.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Issuer string `json:"issuer,omitempty"`
	// IssuerRegExp matches the whole OIDC issuer.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="a Go (RE2) regular expression"
	IssuerRegExp string `json:"issuerRegExp,omitempty"`
	// Subject is the exact certificate identity (SAN), e.g. an e-mail or URI.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Subject string `json:"subject,omitempty"`
	// SubjectRegExp matches the whole certificate identity.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="a Go (RE2) regular expression"
	SubjectRegExp string `json:"subjectRegExp,omitempty"`

	// TrustedRoot is a Sigstore trusted_root.json to verify against offline.
	// +optional
	TrustedRoot *TrustedRoot `json:"trustedRoot,omitempty"`

	// TUF takes the trusted root from a TUF repository: a mirror or a
	// serialized copy (types_trustroot.go). Without tuf and trustedRoot the
	// public Sigstore instance's root is used, through TUF.
	// +optional
	TUF *TUFRepository `json:"tuf,omitempty"`

	// RequireSignedTimestamp demands an RFC 3161 timestamp from a timestamp
	// authority of the trusted root on every signature, in both layouts.
	// +optional
	RequireSignedTimestamp bool `json:"requireSignedTimestamp,omitempty"`
}

// TrustedRoot holds a Sigstore trusted root document.
//
// +kubebuilder:validation:XValidation:rule="has(self.data) && size(self.data) > 0",message="data is required"
type TrustedRoot struct {
	// Data is the trusted_root.json content.
	// +optional
	Data string `json:"data,omitempty"`
}

// NamespacePolicy restricts the namespaces runs may use.
type NamespacePolicy struct {
	// Deny lists forbidden namespaces. Unset means [default]; an explicit
	// empty list denies nothing.
	// +optional
	// +kubebuilder:default={"default"}
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
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
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	Authorities []string `json:"authorities,omitempty"`
}

// ImagePolicy says how step and sidecar images must be pinned and signed.
type ImagePolicy struct {
	// RequireDigest demands step and sidecar images pinned by digest.
	// +optional
	RequireDigest bool `json:"requireDigest,omitempty"`
	// Authorities are the names of the authorities an image signature may come from.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	Authorities []string `json:"authorities,omitempty"`
	// Exclude holds globs on the repository (no tag, no digest) whose images
	// skip signature and attestation checks. path.Match syntax: * does not
	// cross a /.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	// +kubebuilder:validation:items:Pattern=`^([^@]*/)?[^/:@]*$`
	Exclude []string `json:"exclude,omitempty"`
	// AcceptSummaries accepts a fresh, trusted verification summary instead
	// of verifying an image again (types_summaries.go).
	// +optional
	AcceptSummaries *AcceptSummariesPolicy `json:"acceptSummaries,omitempty"`
}

// AttestationPolicy is one attestation every verified image must carry.
//
// +kubebuilder:validation:XValidation:rule="!has(self.vulnerabilities) || !(self.type in ['slsaprovenance', 'slsaprovenance1'])",message="vulnerabilities applies to vulnerability-scan attestations, not provenance"
type AttestationPolicy struct {
	// Name identifies this entry in reports.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Type is a short name (vuln, slsaprovenance, slsaprovenance1) or a
	// full predicateType URI.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self in ['vuln', 'slsaprovenance', 'slsaprovenance1'] || self.matches('^([a-zA-Z][a-zA-Z0-9+.-]*:(//[^/ ]+|[^/ ])[^ ]*|[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?([.][a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)+/[^ ]+)$')",message="vuln, slsaprovenance, slsaprovenance1, or a predicateType URI"
	Type string `json:"type"`
	// Authorities are the names of the authorities the attestation may be
	// signed by; empty means images.authorities.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	Authorities []string `json:"authorities,omitempty"`
	// MaxAge is a Go duration (e.g. 168h): the scan must have finished within
	// this long before now.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="a positive Go duration such as 168h"
	MaxAge string `json:"maxAge,omitempty"`
	// Vulnerabilities judges the findings of a vulnerability-scan predicate.
	// +optional
	Vulnerabilities *VulnerabilityPolicy `json:"vulnerabilities,omitempty"`
}

// VulnerabilityPolicy judges vulnerability-scan findings.
type VulnerabilityPolicy struct {
	// Deny lists severities that fail the check (case-insensitive):
	// CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN. Unset means
	// [CRITICAL, HIGH].
	// +optional
	// +kubebuilder:default={"CRITICAL","HIGH"}
	// +kubebuilder:validation:MaxItems=6
	// +kubebuilder:validation:items:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.all(s, s.trim().upperAscii() in ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NEGLIGIBLE', 'UNKNOWN'])",message="severities: CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN"
	Deny []string `json:"deny,omitempty"`
	// IgnoreUnfixed drops findings with no fixed version.
	// +optional
	IgnoreUnfixed bool `json:"ignoreUnfixed,omitempty"`
	// Exceptions are accepted findings, each with an expiry and a reason.
	// +optional
	// +kubebuilder:validation:MaxItems=1024
	Exceptions []VulnerabilityException `json:"exceptions,omitempty"`
	// VEX trusts signed VEX statements to drop findings (types_vex.go).
	// +optional
	VEX *VEXPolicy `json:"vex,omitempty"`
}

// VulnerabilityException accepts one vulnerability id until it expires.
type VulnerabilityException struct {
	// ID is the vulnerability id, e.g. CVE-2024-0001.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ID string `json:"id"`
	// Expires is a date (2006-01-02, valid through that day in UTC) or an
	// RFC 3339 time; required.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="timestamp(self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$') ? self + 'T00:00:00Z' : self) >= timestamp('0001-01-01T00:00:00Z')",message="a date (2006-01-02) or an RFC 3339 time"
	Expires string `json:"expires"`
	// Reason says why the finding is accepted; required.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Reason string `json:"reason"`
	// Images limits the exception to repositories matching these globs.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	// +kubebuilder:validation:items:Pattern=`^([^@]*/)?[^/:@]*$`
	Images []string `json:"images,omitempty"`
}

// SecurityContextPolicy chooses the Pod Security Standards level.
type SecurityContextPolicy struct {
	// Level is baseline or restricted (default), or privileged to apply no rule.
	// +optional
	// +kubebuilder:default=restricted
	Level SecurityContextLevel `json:"level,omitempty"`
}
