package gate

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/runtime"
)

// Kinds of objects a Ref can point at.
const (
	KindPipeline   = "Pipeline"
	KindTask       = "Task"
	KindStepAction = "StepAction"
)

// Ref is a reference the engine needs the content of: a pipelineRef, a
// taskRef or a step's StepAction ref, after the run's parameters have been
// substituted into it.
type Ref struct {
	// Kind is KindPipeline, KindTask or KindStepAction.
	Kind string
	// Name is the object's name for a reference by name (no resolver), or the
	// `name` resolver parameter of a bundle.
	Name string
	// Namespace is the run's namespace.
	Namespace string
	// Resolver is the remote resolver ("bundles", "git", "cluster", "hub",
	// "http", ...), or empty for a reference by name.
	Resolver string
	// Params are the resolver parameters, substituted.
	Params map[string]string
	// Bundle is the bundle image reference, set for both the bundles-resolver
	// form and the legacy `bundle:` field. When the engine has pinned it, it
	// is the digest form repo@sha256:… .
	Bundle string
	// PipelineTask is the pipeline task that holds a taskRef ("" for a
	// pipelineRef); the controller maps it to Tekton's ResolutionRequest.
	PipelineTask string
	// Subject names the object holding the reference, for messages.
	Subject Subject
}

// Resolved is the content behind a Ref.
type Resolved struct {
	// Object is a *v1.Pipeline, a *v1.Task or a *v1beta1.StepAction
	// (tekton.dev API types; v1beta1 Pipelines and Tasks converted to v1).
	Object runtime.Object
	// BundleDigest is repo@sha256:… when the content was read from a bundle.
	BundleDigest string
	// Source describes where the content came from, for messages
	// (a file path, "resolutionrequest/ns/name", a bundle digest).
	Source string
}

// Resolver loads the content behind a reference. The CLI resolves among the
// given files and from registries; the controller from listers and Tekton's
// ResolutionRequests.
type Resolver interface {
	Resolve(ctx context.Context, ref Ref) (*Resolved, error)
}

// BundlePinner is implemented by Resolvers that know the digest at which a
// bundle reference will be read (the controller: the digest Tekton's
// resolver recorded). The engine verifies the bundle signature at that digest
// before it asks for the content, and asks for the content at that digest.
// When a Resolver does not implement it, the ArtifactVerifier resolves the tag.
type BundlePinner interface {
	PinBundle(ctx context.Context, ref Ref) (digestRef string, err error)
}

// Errors a Resolver returns, matched with errors.Is. Any other error means
// "could not decide" (for example a registry timeout) and never a pass.
var (
	// ErrNotFound: the reference names nothing that exists.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported: this Resolver cannot load this kind of reference
	// (for example a git resolver reference in the CLI).
	ErrUnsupported = errors.New("unsupported reference")
)
