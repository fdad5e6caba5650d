package pipelinerunresolver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	resv1beta1 "github.com/tektoncd/pipeline/pkg/apis/resolution/v1beta1"
	resolutioncommon "github.com/tektoncd/pipeline/pkg/resolution/common"
	"github.com/tektoncd/pipeline/pkg/resolution/resource"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/kmeta"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/transient"
)

// ErrNotResolvedYet is wrapped by errors for a ResolutionRequest that exists
// but has not succeeded: the verdict cannot be decided yet. It is transient
// (pkg/transient) for every caller: the controller tries again with
// backoff, the CLI reports could-not-decide.
var ErrNotResolvedYet = transient.Mark(errors.New("resolution not finished"))

// Resolver resolves the references of one run in one namespace. It is safe
// for concurrent use.
type Resolver struct {
	src       Source
	namespace string
	// pr is the owning PipelineRun; nil for a run that no PipelineRun owns
	// (then only references by name can be resolved).
	pr *v1.PipelineRun
}

var (
	_ gate.Resolver     = (*Resolver)(nil)
	_ gate.BundlePinner = (*Resolver)(nil)
)

// New returns a Resolver for references made by pr (may be nil) in namespace.
func New(src Source, namespace string, pr *v1.PipelineRun) *Resolver {
	return &Resolver{src: src, namespace: namespace, pr: pr}
}

// Resolve implements gate.Resolver.
func (r *Resolver) Resolve(ctx context.Context, ref gate.Ref) (*gate.Resolved, error) {
	if ref.Namespace != "" && ref.Namespace != r.namespace {
		return nil, fmt.Errorf("%s: %s %q is in namespace %q, but a run may only use objects of its own namespace %q",
			ref.Subject, ref.Kind, ref.Name, ref.Namespace, r.namespace)
	}
	if ref.Resolver == "" && ref.Bundle != "" {
		// The legacy `bundle:` field was removed from Tekton (v0.61); a run
		// carrying it cannot run, so there is nothing to judge.
		return nil, fmt.Errorf("%s: the legacy bundle field (%s) is not supported by this Tekton version; use resolver: bundles: %w",
			ref.Subject, ref.Bundle, gate.ErrUnsupported)
	}
	if ref.Resolver == "" {
		return r.byName(ctx, ref)
	}
	rr, err := r.request(ctx, ref)
	if err != nil {
		return nil, err
	}
	obj, err := decodeData(rr.Status.Data, ref.Kind)
	if err != nil {
		return nil, fmt.Errorf("%s: resolutionrequest/%s/%s: %w", ref.Subject, rr.Namespace, rr.Name, err)
	}
	res := &gate.Resolved{Object: obj, Source: "resolutionrequest/" + rr.Namespace + "/" + rr.Name}
	if ref.Resolver == "bundles" {
		if res.BundleDigest, err = pinned(rr); err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Subject, err)
		}
		res.Source = res.BundleDigest + " (" + res.Source + ")"
	}
	return res, nil
}

// PinBundle implements gate.BundlePinner: the digest Tekton's bundles
// resolver read, as repo@sha256:…, so the signature is verified on the very
// manifest whose layers the TaskRun will run.
func (r *Resolver) PinBundle(ctx context.Context, ref gate.Ref) (string, error) {
	if ref.Resolver != "bundles" {
		return "", fmt.Errorf("%s: %s %q is not a bundles-resolver reference: %w", ref.Subject, ref.Kind, ref.Name, gate.ErrUnsupported)
	}
	rr, err := r.request(ctx, ref)
	if err != nil {
		return "", err
	}
	d, err := pinned(rr)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ref.Subject, err)
	}
	return d, nil
}

func (r *Resolver) byName(ctx context.Context, ref gate.Ref) (*gate.Resolved, error) {
	var (
		obj runtime.Object
		err error
	)
	switch ref.Kind {
	case gate.KindPipeline:
		var p *v1.Pipeline
		if p, err = r.src.Pipeline(ctx, r.namespace, ref.Name); err == nil {
			obj = typedCopy(p, "tekton.dev/v1", ref.Kind)
		}
	case gate.KindTask:
		var t *v1.Task
		if t, err = r.src.Task(ctx, r.namespace, ref.Name); err == nil {
			obj = typedCopy(t, "tekton.dev/v1", ref.Kind)
		}
	case gate.KindStepAction:
		var s *v1beta1.StepAction
		if s, err = r.src.StepAction(ctx, r.namespace, ref.Name); err == nil {
			obj = typedCopy(s, "tekton.dev/v1beta1", ref.Kind)
		}
	default:
		return nil, fmt.Errorf("%s: kind %q: %w", ref.Subject, ref.Kind, gate.ErrUnsupported)
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %s %s/%s: %w", ref.Subject, ref.Kind, r.namespace, ref.Name, gate.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s %s/%s: %w", ref.Subject, ref.Kind, r.namespace, ref.Name, err)
	}
	return &gate.Resolved{Object: obj, Source: fmt.Sprintf("%s/%s/%s", lower(ref.Kind), r.namespace, ref.Name)}, nil
}

// request finds the succeeded ResolutionRequest Tekton made for ref.
func (r *Resolver) request(ctx context.Context, ref gate.Ref) (*resv1beta1.ResolutionRequest, error) {
	if r.pr == nil {
		return nil, fmt.Errorf("%s: a %s reference is only resolved from the ResolutionRequests of an owning PipelineRun, and this run has none: %w",
			ref.Subject, ref.Resolver, gate.ErrUnsupported)
	}
	if ref.Kind == gate.KindStepAction {
		// StepAction references are resolved by the TaskRun reconciler, after
		// the gate: their content does not exist yet.
		return nil, fmt.Errorf("%s: StepAction %q uses resolver %q, which Tekton resolves only when the TaskRun starts, after the gate: %w",
			ref.Subject, ref.Name, ref.Resolver, gate.ErrUnsupported)
	}
	rr, err := r.findRequest(ctx, ref)
	if err != nil {
		return nil, err
	}
	if got := rr.Labels[resolutioncommon.LabelKeyResolverType]; got != "" && got != ref.Resolver {
		return nil, fmt.Errorf("%s: resolutionrequest/%s/%s is for resolver %q, want %q", ref.Subject, rr.Namespace, rr.Name, got, ref.Resolver)
	}
	c := rr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case c.IsTrue():
		return rr, nil
	case c.IsFalse():
		return nil, fmt.Errorf("%s: resolutionrequest/%s/%s failed: %s: %s", ref.Subject, rr.Namespace, rr.Name, c.Reason, c.Message)
	}
	return nil, fmt.Errorf("%s: resolutionrequest/%s/%s: %w", ref.Subject, rr.Namespace, rr.Name, ErrNotResolvedYet)
}

func (r *Resolver) findRequest(ctx context.Context, ref gate.Ref) (*resv1beta1.ResolutionRequest, error) {
	// First the exact name Tekton derives from the owner and the params: it
	// finds the request even when the resolver is not the one the engine
	// believes (the name would then differ and the lookup fail, never match).
	if name, ok := r.expectedName(ref); ok {
		rr, err := r.src.ResolutionRequest(ctx, r.namespace, name)
		switch {
		case err == nil:
			return rr, nil
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("%s: reading resolutionrequest/%s/%s: %w", ref.Subject, r.namespace, name, err)
		}
	}
	// Otherwise a request owned by this PipelineRun whose resolver and params
	// equal the reference's (and for the pipelineRef, whose source is the one
	// Tekton recorded in the run's provenance).
	all, err := r.src.ResolutionRequests(ctx, r.namespace)
	if err != nil {
		return nil, fmt.Errorf("%s: listing resolutionrequests in %s: %w", ref.Subject, r.namespace, err)
	}
	var match []*resv1beta1.ResolutionRequest
	for _, rr := range all {
		if !ownedBy(rr, r.pr) || rr.Labels[resolutioncommon.LabelKeyResolverType] != ref.Resolver {
			continue
		}
		if sameParams(rr.Spec.Params, ref.Params) || (ref.PipelineTask == "" && ref.Kind == gate.KindPipeline && r.isPipelineSource(rr)) {
			match = append(match, rr)
		}
	}
	sort.Slice(match, func(i, j int) bool { return match[i].Name < match[j].Name })
	for _, m := range match[min(1, len(match)):] {
		// Several requests for the same params are fine only if they resolved
		// to the same content; otherwise which one runs is not knowable here.
		if m.Status.Data != match[0].Status.Data {
			return nil, fmt.Errorf("%s: resolutionrequests %s and %s of pipelinerun/%s/%s match the reference but hold different content",
				ref.Subject, match[0].Name, m.Name, r.pr.Namespace, r.pr.Name)
		}
	}
	if len(match) == 0 {
		return nil, fmt.Errorf("%s: no ResolutionRequest of pipelinerun/%s/%s for %s resolver %q with params %v (Tekton resolves every task before it creates the gate's CustomRun)",
			ref.Subject, r.pr.Namespace, r.pr.Name, ref.Kind, ref.Resolver, ref.Params)
	}
	return match[0], nil
}

// expectedName reproduces the deterministic request name Tekton's
// PipelineRun reconciler uses for a pipeline task's taskRef: the TaskRun name
// and the taskRef params as stored in status.pipelineSpec.
func (r *Resolver) expectedName(ref gate.Ref) (string, bool) {
	if ref.PipelineTask == "" || r.pr.Status.PipelineSpec == nil {
		return "", false
	}
	spec := r.pr.Status.PipelineSpec
	for _, list := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		for _, pt := range list {
			if pt.Name != ref.PipelineTask || pt.TaskRef == nil || string(pt.TaskRef.Resolver) != ref.Resolver {
				continue
			}
			trName := taskRunName(r.pr, pt.Name)
			name, err := resource.GenerateDeterministicNameFromSpec(ref.Resolver, r.pr.Namespace+"/"+trName,
				&resv1beta1.ResolutionRequestSpec{Params: pt.TaskRef.Params})
			return name, err == nil
		}
	}
	return "", false
}

// taskRunName is the name Tekton gives (or gave) the TaskRun of a pipeline
// task, which is also the base of its ResolutionRequest's name.
func taskRunName(pr *v1.PipelineRun, ptName string) string {
	for _, cr := range pr.Status.ChildReferences {
		if cr.Kind == pipeline.TaskRunControllerName && cr.PipelineTaskName == ptName {
			return cr.Name
		}
	}
	return kmeta.ChildName(pr.Name, "-"+ptName)
}

func (r *Resolver) isPipelineSource(rr *resv1beta1.ResolutionRequest) bool {
	if r.pr.Status.Provenance == nil || r.pr.Status.Provenance.RefSource == nil {
		return false
	}
	src := refSource(rr)
	want := r.pr.Status.Provenance.RefSource
	return src != nil && src.URI == want.URI && src.EntryPoint == want.EntryPoint && maps.Equal(src.Digest, want.Digest)
}

func ownedBy(rr *resv1beta1.ResolutionRequest, pr *v1.PipelineRun) bool {
	for _, o := range rr.OwnerReferences {
		if o.UID == pr.UID && o.Kind == pipeline.PipelineRunControllerName {
			return true
		}
	}
	return false
}

func sameParams(got v1.Params, want map[string]string) bool {
	if len(got) != len(want) || len(want) == 0 {
		return false
	}
	for _, p := range got {
		w, ok := want[p.Name]
		if !ok || p.Value.Type != v1.ParamTypeString || p.Value.StringVal != w {
			return false
		}
	}
	return true
}

func refSource(rr *resv1beta1.ResolutionRequest) *v1.RefSource {
	if rr.Status.RefSource != nil {
		return rr.Status.RefSource
	}
	return rr.Status.Source
}

// pinned returns repo@sha256:… for a bundles-resolver request, from the URI
// and digest the resolver recorded.
func pinned(rr *resv1beta1.ResolutionRequest) (string, error) {
	src := refSource(rr)
	where := "resolutionrequest/" + rr.Namespace + "/" + rr.Name
	if src == nil || src.URI == "" {
		return "", fmt.Errorf("%s: status.refSource.uri is empty; cannot tell which bundle was resolved", where)
	}
	hex, ok := src.Digest["sha256"]
	if !ok || len(hex) != 64 {
		return "", fmt.Errorf("%s: status.refSource.digest has no sha256 digest (got %v)", where, src.Digest)
	}
	ref, err := name.ParseReference(src.URI)
	if err != nil {
		return "", fmt.Errorf("%s: status.refSource.uri %q is not an image reference: %w", where, src.URI, err)
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != "sha256:"+hex {
		return "", fmt.Errorf("%s: status.refSource.uri %q names digest %s but the resolver recorded sha256:%s", where, src.URI, d.DigestStr(), hex)
	}
	return ref.Context().Name() + "@sha256:" + hex, nil
}

// typedCopy returns a copy of obj, which may be a lister's shared object,
// with apiVersion and kind set: objects read from the API server arrive with
// an empty TypeMeta, and the engine dispatches on it.
func typedCopy(obj runtime.Object, apiVersion, kind string) runtime.Object {
	c := obj.DeepCopyObject()
	c.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	return c
}

func lower(kind string) string {
	switch kind {
	case gate.KindPipeline:
		return "pipeline"
	case gate.KindTask:
		return "task"
	case gate.KindStepAction:
		return "stepaction"
	}
	return kind
}
