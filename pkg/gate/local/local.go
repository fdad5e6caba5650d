package local

import (
	"context"
	"fmt"
	"sort"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/gate"
)

type entry struct {
	namespace string
	obj       runtime.Object
}

// Resolver resolves references by name among given objects. It is safe for
// concurrent use; it never changes the objects and returns copies.
type Resolver struct {
	byKey map[string][]entry // kind/name → candidates
}

var _ gate.Resolver = (*Resolver)(nil)

// New indexes objs: *v1.Pipeline, *v1.Task, *v1beta1.StepAction (v1beta1
// Pipelines and Tasks are converted to v1 by gate.ToV1). Other objects are
// ignored.
func New(objs []runtime.Object) (*Resolver, error) {
	r := &Resolver{byKey: map[string][]entry{}}
	for _, obj := range objs {
		obj, err := gate.ToV1(obj)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *v1.Pipeline:
			r.add(gate.KindPipeline, o.Name, o.Namespace, o)
		case *v1.Task:
			r.add(gate.KindTask, o.Name, o.Namespace, o)
		case *v1beta1.StepAction:
			r.add(gate.KindStepAction, o.Name, o.Namespace, o)
		}
	}
	for k := range r.byKey {
		// Deterministic choice among same-named objects in no namespace.
		sort.SliceStable(r.byKey[k], func(i, j int) bool { return r.byKey[k][i].namespace < r.byKey[k][j].namespace })
	}
	return r, nil
}

func (r *Resolver) add(kind, name, ns string, obj runtime.Object) {
	k := kind + "/" + name
	r.byKey[k] = append(r.byKey[k], entry{namespace: ns, obj: obj})
}

// Resolve implements gate.Resolver.
func (r *Resolver) Resolve(_ context.Context, ref gate.Ref) (*gate.Resolved, error) {
	if ref.Resolver != "" || ref.Bundle != "" {
		return nil, fmt.Errorf("%s reference through the %q resolver cannot be loaded from the given files: %w", ref.Kind, ref.Resolver, gate.ErrUnsupported)
	}
	if ref.Name == "" {
		return nil, fmt.Errorf("%s reference has no name: %w", ref.Kind, gate.ErrNotFound)
	}
	var match *entry
	for i, e := range r.byKey[ref.Kind+"/"+ref.Name] {
		if e.namespace == ref.Namespace {
			match = &r.byKey[ref.Kind+"/"+ref.Name][i]
			break
		}
		if e.namespace == "" && match == nil {
			match = &r.byKey[ref.Kind+"/"+ref.Name][i]
		}
	}
	if match == nil {
		where := "the given objects"
		if ref.Namespace != "" {
			where = fmt.Sprintf("the given objects of namespace %q", ref.Namespace)
		}
		return nil, fmt.Errorf("no %s named %q among %s: %w", ref.Kind, ref.Name, where, gate.ErrNotFound)
	}
	src := fmt.Sprintf("given %s %q", ref.Kind, ref.Name)
	return &gate.Resolved{Object: match.obj.DeepCopyObject(), Source: src}, nil
}
