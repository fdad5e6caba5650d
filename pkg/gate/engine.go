package gate

import (
	"context"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/transient"
)

// Input is everything one verification looks at.
type Input struct {
	// Objects are the roots to verify and the objects they may reference by
	// name: *v1.PipelineRun, *v1.TaskRun, *v1.Pipeline, *v1.Task and
	// *v1beta1.StepAction. PipelineRuns and TaskRuns are roots; a Pipeline or
	// Task that no given run references is verified on its own with its
	// parameter defaults.
	Objects []runtime.Object
	// Images are extra artifacts to verify with the images and attestations
	// rules (--image, the gate task's `images` param).
	Images []string
	// Live says the objects were read from the API server as Tekton stores
	// them (the controller, verify --pipelinerun). A live PipelineRun's
	// status.pipelineSpec is the copy of the pipeline Tekton runs: it is
	// judged instead of whatever the pipelineRef names now (the reference
	// itself is still checked: bundle rules, the bundle's signature), and a
	// live PipelineRun without it cannot be decided yet. In files the status
	// is ignored: Tekton drops it when the run is created.
	Live bool
	// Builds says, for entries of Images, which TaskRun of the run built
	// them (build.go). With spec.provenance every entry of Images has its
	// provenance judged: in a live run one without a TaskRun here fails
	// the run binding; elsewhere it is judged offline.
	Builds map[string]*Build
}

// Options configure an Engine.
type Options struct {
	// Resolver loads referenced objects. Nil resolves nothing: every
	// reference is unresolved.
	Resolver Resolver
	// Verifier performs registry checks. Nil: bundle, image-signature and
	// attestation checks cannot run and are reported as unresolved.
	Verifier ArtifactVerifier
	// Now is the time used for exception expiry and attestation age.
	Now func() time.Time
	// GateTask names the pipeline task that is the gate, when it is not a
	// custom task of securitygate.dev (the catalog Task, --gate-task).
	GateTask string
	// Concurrency bounds parallel registry verifications (default
	// defaults.Concurrency).
	Concurrency int
	// RequireGate makes a pipeline without a gate task a gate-order finding
	// (per spec.gateOrder). The controller sets it: the pipeline it verifies
	// must contain the gate that runs it. The CLI leaves it unset, so a
	// pipeline without a gate is simply not checked for gate order.
	RequireGate bool
}

// Engine verifies runs against one policy. It is safe for concurrent use.
type Engine struct {
	opts Options
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = defaults.Concurrency
	}
	return &Engine{opts: opts}
}

// Verify runs every check of policy on in. The policy must be defaulted
// (SecurityGateSpec.SetDefaults; ParsePolicy and pkg/policyload return it
// so) and valid: the engine keeps no second copy of the defaults, and a
// spec without them is refused as could-not-decide (check policy) rather
// than read as "check nothing". It never returns nil: what could not be
// decided is reported with VerdictError, never as a pass.
func (e *Engine) Verify(ctx context.Context, policy *v1alpha1.SecurityGateSpec, in Input) *Report {
	if policy == nil {
		return policyError("no policy given")
	}
	if !defaulted(policy) {
		return policyError("the policy given to the engine has not had its defaults applied (SetDefaults): " +
			"an unset mode, gateOrder, namespaces.deny or securityContext.level would read as no rule")
	}
	r := newRun(ctx, e, policy)
	r.planRoots(in.Objects, in.Live)
	r.checkExtraImages(in.Images)
	r.planBuilds(in)
	r.verifyImages()
	if err := ctx.Err(); err != nil {
		r.errorf(CheckRegistry, "", TextSubject("verification"), transient.Is(err), "verification interrupted before it completed: %v", err)
	}
	return r.report()
}

// defaulted reports whether SetDefaults would change nothing in policy.
func defaulted(policy *v1alpha1.SecurityGateSpec) bool {
	d := policy.DeepCopy()
	d.SetDefaults(context.Background())
	return reflect.DeepEqual(d, policy)
}

func policyError(msg string) *Report {
	return &Report{Verdict: VerdictError, Violations: []Finding{}, Warnings: []Finding{},
		Errors: []Finding{{Check: CheckPolicy, Subject: TextSubject("policy"), Message: msg, Severity: SeverityError}}}
}
