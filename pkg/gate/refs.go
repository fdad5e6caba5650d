package gate

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/transient"
)

const bundlesResolver = "bundles"

// resolveResult is a cached Resolver answer; obj is nil when the reference
// could not be loaded (the findings were reported the first time).
type resolveResult struct {
	res *Resolved
	err error
}

// resolverParams flattens resolver params; array and object values are not
// meaningful to any resolver we know and are rendered for messages only.
func resolverParams(ps v1.Params) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		switch p.Value.Type {
		case v1.ParamTypeArray:
			m[p.Name] = strings.Join(p.Value.ArrayVal, ",")
		case v1.ParamTypeObject:
			keys := make([]string, 0, len(p.Value.ObjectVal))
			for k := range p.Value.ObjectVal {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%s;", k, p.Value.ObjectVal[k])
			}
			m[p.Name] = b.String()
		default:
			m[p.Name] = p.Value.StringVal
		}
	}
	return m
}

// newRef builds a Ref from a reference's name or resolver form. A bundles
// resolver reference carries its bundle and object name in its params.
func newRef(kind, refName string, resolver v1.ResolverName, params v1.Params, ns, pipelineTask string, subject Subject) Ref {
	ref := Ref{Kind: kind, Name: refName, Namespace: ns, Resolver: string(resolver),
		Params: resolverParams(params), PipelineTask: pipelineTask, Subject: subject}
	if ref.Resolver == bundlesResolver {
		ref.Bundle = ref.Params["bundle"]
		ref.Name = ref.Params["name"]
	}
	return ref
}

// taskRefRef builds the Ref of a taskRef.
func taskRefRef(tr *v1.TaskRef, ns, pipelineTask string, subject Subject) Ref {
	return newRef(KindTask, tr.Name, tr.Resolver, tr.Params, ns, pipelineTask, subject)
}

// pipelineRefRef builds the Ref of a pipelineRef.
func pipelineRefRef(pr *v1.PipelineRef, ns string, subject Subject) Ref {
	return newRef(KindPipeline, pr.Name, pr.Resolver, pr.Params, ns, "", subject)
}

// stepRefRef builds the Ref of a step's StepAction reference.
func stepRefRef(sr *v1.Ref, ns, pipelineTask string, subject Subject) Ref {
	return newRef(KindStepAction, sr.Name, sr.Resolver, sr.Params, ns, pipelineTask, subject)
}

// describeRef says what a reference points at, for messages.
func describeRef(ref Ref) string {
	switch {
	case ref.Bundle != "":
		return fmt.Sprintf("%s %q from bundle %s", ref.Kind, ref.Name, ref.Bundle)
	case ref.Resolver != "":
		return fmt.Sprintf("%s from the %s resolver", ref.Kind, ref.Resolver)
	default:
		return fmt.Sprintf("%s %q", ref.Kind, ref.Name)
	}
}

func refKey(ref Ref) string {
	keys := make([]string, 0, len(ref.Params))
	for k := range ref.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\x00%s\x00%s\x00%s", ref.Kind, ref.Name, ref.Namespace, ref.Resolver, ref.Bundle, ref.PipelineTask)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%s", k, ref.Params[k])
	}
	return b.String()
}

// resolve loads the content behind ref. A bundle is pinned (and its
// signature verified) first and then read at that digest. When the content
// cannot be loaded the finding is reported here and nil returned: `needed`
// says whether an enabled check needed it (violation) or not (warning); a
// Resolver failure other than not-found/unsupported is "could not decide".
func (r *run) resolve(ref Ref, task string, needed bool) *Resolved {
	if ref.Bundle != "" {
		digest, ok := r.pinBundle(ref, task)
		if !ok {
			return nil
		}
		ref.Bundle = digest
	}
	key := refKey(ref)
	res, cached := r.resolved[key]
	if !cached {
		res = r.doResolve(ref)
		r.resolved[key] = res
	}
	if res.err != nil {
		r.reportResolveError(ref, task, needed, res.err)
		return nil
	}
	if ref.Resolver == "" && ref.Bundle == "" {
		r.markUsed(ref.Kind, res.res.Object)
	}
	return res.res
}

var errNoResolver = fmt.Errorf("no resolver configured: %w", ErrUnsupported)

func (r *run) doResolve(ref Ref) resolveResult {
	if r.e.opts.Resolver == nil {
		return resolveResult{err: errNoResolver}
	}
	res, err := r.e.opts.Resolver.Resolve(r.ctx, ref)
	if err != nil {
		return resolveResult{err: err}
	}
	if res == nil || res.Object == nil {
		return resolveResult{err: fmt.Errorf("resolver returned no object: %w", ErrNotFound)}
	}
	obj, err := normalizeResolved(ref.Kind, res.Object)
	if err != nil {
		return resolveResult{err: err}
	}
	out := *res
	out.Object = obj
	return resolveResult{res: &out}
}

// errWrongKind: the reference resolved to something that is not what it
// asked for. Reported like not-found: the content needed is not there.
var errWrongKind = errors.New("wrong kind")

// normalizeResolved converts a resolved object to v1 (ToV1) and checks it
// is the kind the reference asked for.
func normalizeResolved(kind string, obj runtime.Object) (runtime.Object, error) {
	obj, err := ToV1(obj)
	if err != nil {
		return nil, err
	}
	switch obj.(type) {
	case *v1.Pipeline:
		if kind == KindPipeline {
			return obj, nil
		}
	case *v1.Task:
		if kind == KindTask {
			return obj, nil
		}
	case *v1beta1.StepAction:
		if kind == KindStepAction {
			return obj, nil
		}
	}
	return nil, fmt.Errorf("%w: resolved to a %T, want a %s", errWrongKind, obj, kind)
}

func (r *run) reportResolveError(ref Ref, task string, needed bool, err error) {
	what := describeRef(ref)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, errWrongKind):
		r.finding(needSeverity(needed), CheckUnresolved, task, ref.Subject,
			"%s could not be loaded: %v%s", what, err, neededSuffix(needed))
	case errors.Is(err, ErrUnsupported):
		r.finding(needSeverity(needed), CheckUnresolved, task, ref.Subject,
			"%s could not be loaded: %v%s", what, err, neededSuffix(needed))
	default:
		r.errorf(CheckUnresolved, task, ref.Subject, transient.Is(err),
			"could not decide: loading %s failed: %v", what, err)
	}
}

func neededSuffix(needed bool) string {
	if needed {
		return "; its content is needed by an enabled check, so it cannot pass unverified"
	}
	return ""
}
