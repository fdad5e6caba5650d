package gate

// Check ids are part of the public contract: reports use exactly these strings.
const (
	CheckNamespace       = "namespace"
	CheckBundle          = "bundle"
	CheckBundleSignature = "bundle-signature"
	CheckImageDigest     = "image-digest"
	CheckImageReference  = "image-reference"
	CheckImageSignature  = "image-signature"
	CheckAttestation     = "attestation"
	CheckVulnerabilities = "vulnerabilities"
	CheckSecurityContext = "security-context"
	CheckGateOrder       = "gate-order"
	CheckUnresolved      = "unresolved"
	CheckPolicy          = "policy" // the policy itself could not be used
	CheckInput           = "input"  // the input could not be read or parsed
	CheckRegistry        = "registry"
)

// Verdict is the outcome of one verification.
type Verdict string

const (
	// VerdictPass: no violation and no warning.
	VerdictPass Verdict = "pass"
	// VerdictWarn: passed, with warnings (including violations in Warn mode).
	VerdictWarn Verdict = "warn"
	// VerdictFail: at least one policy violation in Enforce mode.
	VerdictFail Verdict = "fail"
	// VerdictError: the verdict could not be decided (invalid policy or input,
	// unreachable registry, timeout). Never treated as a pass.
	VerdictError Verdict = "error"
)

// Severity says how a finding counts towards the verdict.
type Severity string

const (
	SeverityViolation Severity = "violation"
	SeverityWarning   Severity = "warning"
	// SeverityError marks something that could not be decided.
	SeverityError Severity = "error"
)

// Finding is one result of one check on one subject.
type Finding struct {
	// Check is one of the Check* ids.
	Check string `json:"check"`
	// Subject names the object precisely (its String form, e.g.
	// "pipelinerun/ci/release-42 task=build step=compile" or an image
	// reference, is the JSON value).
	Subject Subject `json:"subject"`
	// Message says what is wrong and what was expected.
	Message string `json:"message"`

	// Severity is carried by the list a finding sits in on the wire.
	Severity Severity `json:"-"`
	// Task is the pipeline task (or task) the finding belongs to, used to
	// group findings for people; empty for run-level findings.
	Task string `json:"-"`
	// Transient marks an error finding that may go away on retry (registry
	// 5xx, timeout, connection reset); the controller retries those.
	Transient bool `json:"-"`
}

// Summary counts what was verified.
type Summary struct {
	Pipelines  int `json:"pipelines"`
	Tasks      int `json:"tasks"`
	Steps      int `json:"steps"`
	Images     int `json:"images"`
	Bundles    int `json:"bundles"`
	Violations int `json:"violations"`
	Warnings   int `json:"warnings"`
}

// Report is the result of one verification. Its JSON form is the contract of
// `security-gate verify -o json`.
type Report struct {
	Verdict    Verdict   `json:"verdict"`
	Violations []Finding `json:"violations"`
	Warnings   []Finding `json:"warnings"`
	// Errors are what could not be decided; non-empty exactly when a check
	// could not reach a verdict.
	Errors  []Finding `json:"errors,omitempty"`
	Summary Summary   `json:"summary"`
	// VerifiedImages lists, as repo@sha256:…, every image whose signature
	// (and attestations) verified in this run, sorted.
	VerifiedImages []string `json:"verifiedImages,omitempty"`
	// Notes change no verdict: findings dropped by trusted VEX, VEX present
	// but not trusted, verification summaries accepted or written (notes.go).
	Notes []Note `json:"notes,omitempty"`
	// Evidence lists, per verified digest, the signed attestations and
	// documents the verdict relied on (for verification summaries).
	Evidence map[string][]Evidence `json:"-"`
}
