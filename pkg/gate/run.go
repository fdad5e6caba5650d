package gate

import (
	"context"
	"fmt"
	"sync"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// run is the state of one Verify call. Planning (walking runs, resolving
// references, static checks) is sequential; registry work fans out on a
// bounded pool and its results are merged back under mu.
type run struct {
	ctx    context.Context
	e      *Engine
	policy *v1alpha1.SecurityGateSpec

	mu       sync.Mutex
	findings []Finding

	// resolved caches Resolver answers by refKey, so a Task or StepAction
	// used by several pipeline tasks is loaded once.
	resolved map[string]resolveResult
	// bundles caches each bundle reference's pin and signature verification.
	bundles map[string]*bundleState
	// bundleDigests caches VerifyBundle by digest.
	bundleDigests map[string]*bundleVerification
	// images maps each distinct image reference to the tasks using it.
	images map[string]map[string]bool

	// used holds the given objects a reference by name resolved to
	// (usedKey), so the rest are verified on their own.
	used map[string]bool

	summary     Summary
	bundleRefs  map[string]bool
	verifiedSet map[string]bool
	notes       noteSet
	// buildState is what is known of the artifacts the gate received
	// (build.go).
	buildState buildState
}

func newRun(ctx context.Context, e *Engine, policy *v1alpha1.SecurityGateSpec) *run {
	return &run{
		ctx:           ctx,
		e:             e,
		policy:        policy,
		resolved:      map[string]resolveResult{},
		bundles:       map[string]*bundleState{},
		bundleDigests: map[string]*bundleVerification{},
		images:        map[string]map[string]bool{},
		bundleRefs:    map[string]bool{},
		verifiedSet:   map[string]bool{},
		used:          map[string]bool{},
	}
}

func (r *run) add(f Finding) {
	if f.Severity == "" {
		f.Severity = SeverityViolation
	}
	r.mu.Lock()
	r.findings = append(r.findings, f)
	r.mu.Unlock()
}

func (r *run) violation(check, task string, subject Subject, format string, args ...any) {
	r.add(Finding{Check: check, Task: task, Subject: subject, Message: fmt.Sprintf(format, args...), Severity: SeverityViolation})
}

func (r *run) warning(check, task string, subject Subject, format string, args ...any) {
	r.add(Finding{Check: check, Task: task, Subject: subject, Message: fmt.Sprintf(format, args...), Severity: SeverityWarning})
}

// finding adds a violation or a warning.
func (r *run) finding(sev Severity, check, task string, subject Subject, format string, args ...any) {
	r.add(Finding{Check: check, Task: task, Subject: subject, Message: fmt.Sprintf(format, args...), Severity: sev})
}

func (r *run) errorf(check, task string, subject Subject, transient bool, format string, args ...any) {
	r.add(Finding{Check: check, Task: task, Subject: subject, Message: fmt.Sprintf(format, args...), Severity: SeverityError, Transient: transient})
}

// Policy helpers. They read the policy as given: Verify only accepts a
// defaulted spec (defaulted), so every default lives in SetDefaults alone.

func (r *run) mode() v1alpha1.Mode { return r.policy.Mode }

func (r *run) gateOrder() v1alpha1.GateOrderMode { return r.policy.GateOrder }

func (r *run) level() v1alpha1.SecurityContextLevel { return r.policy.SecurityContext.Level }

func (r *run) denyNamespaces() []string { return r.policy.Namespaces.Deny }

func (r *run) bundlesRequired() bool {
	return r.policy.Bundles != nil && r.policy.Bundles.Required
}

func (r *run) bundlesRequireDigest() bool {
	return r.policy.Bundles != nil && r.policy.Bundles.RequireDigest
}

func (r *run) bundleAuthorities() bool {
	return r.policy.Bundles != nil && len(r.policy.Bundles.Authorities) > 0
}

func (r *run) imagesRequireDigest() bool {
	return r.policy.Images != nil && r.policy.Images.RequireDigest
}

// imageRegistryChecks: the policy has rules that VerifyImage applies.
func (r *run) imageRegistryChecks() bool {
	return (r.policy.Images != nil && len(r.policy.Images.Authorities) > 0) || len(r.policy.Attestations) > 0
}

// needTaskContent: an enabled check must see a task's steps, so a task that
// cannot be loaded is a violation rather than a warning.
func (r *run) needTaskContent() bool {
	return r.level() != v1alpha1.LevelPrivileged || r.imagesRequireDigest() || r.imageRegistryChecks()
}

// needPipelineContent: as needTaskContent, plus the checks that read the
// pipeline itself (the taskRefs under bundles.required, gate order).
func (r *run) needPipelineContent() bool {
	return r.needTaskContent() || r.bundlesRequired() || r.gateOrder() != v1alpha1.GateOrderOff
}

// needSeverity is the severity of an unresolved reference.
func needSeverity(needed bool) Severity {
	if needed {
		return SeverityViolation
	}
	return SeverityWarning
}
