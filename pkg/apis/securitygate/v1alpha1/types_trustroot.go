package v1alpha1

// TUFRepository is a TUF repository whose trusted_root.json target is the
// Sigstore trusted root of a keyless authority: a mirror the gate reads
// over HTTP, or a serialized copy carried in the policy for clusters with
// no network. Either way go-tuf applies the TUF rules (signature
// thresholds, root rotation, expiry, rollback) from the initial Root on.
//
// +kubebuilder:validation:XValidation:rule="(has(self.mirror) && size(self.mirror) > 0) != (has(self.repository) && size(self.repository) > 0)",message="exactly one of mirror and repository"
type TUFRepository struct {
	// Mirror is the repository's base URL (http or https), where it serves
	// N.root.json, timestamp.json, N.snapshot.json, N.targets.json and
	// targets/<sha256>.trusted_root.json. A private Sigstore deployment's
	// repository, or an in-cluster mirror of the public one.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://')",message="an http or https URL"
	Mirror string `json:"mirror,omitempty"`

	// Repository is a serialized TUF repository: the base64 encoding of a
	// gzip-compressed tar of the files a mirror serves, under the same
	// paths (`security-gate tuf serialize` writes one). Its metadata
	// expires like a mirror's: refresh it before then.
	// +optional
	// +kubebuilder:validation:MaxLength=1048576
	Repository string `json:"repository,omitempty"`

	// Root is the initial root.json, the trust anchor the repository's
	// metadata must chain to. Unset: the public Sigstore instance's root
	// embedded in security-gate (for mirrors of the public instance).
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	// +kubebuilder:validation:XValidation:rule="self.trim().startsWith('{')",message="a TUF root.json document"
	Root string `json:"root,omitempty"`
}
