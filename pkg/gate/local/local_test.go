package local

import (
	"context"
	"errors"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/gate"
)

func TestResolve(t *testing.T) {
	objs := []runtime.Object{
		&v1.Task{ObjectMeta: metav1.ObjectMeta{Name: "t"}, Spec: v1.TaskSpec{Description: "any namespace"}},
		&v1.Task{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ci"}, Spec: v1.TaskSpec{Description: "ci"}},
		&v1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "other"}},
		&v1beta1.StepAction{ObjectMeta: metav1.ObjectMeta{Name: "sa"}},
		&v1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: "old"}},
	}
	r, err := New(objs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ref     gate.Ref
		wantErr error
		check   func(t *testing.T, o runtime.Object)
	}{
		{name: "exact namespace wins", ref: gate.Ref{Kind: gate.KindTask, Name: "t", Namespace: "ci"},
			check: func(t *testing.T, o runtime.Object) {
				if o.(*v1.Task).Spec.Description != "ci" {
					t.Errorf("got %q", o.(*v1.Task).Spec.Description)
				}
			}},
		{name: "no namespace matches any", ref: gate.Ref{Kind: gate.KindTask, Name: "t", Namespace: "dev"},
			check: func(t *testing.T, o runtime.Object) {
				if o.(*v1.Task).Spec.Description != "any namespace" {
					t.Errorf("got %q", o.(*v1.Task).Spec.Description)
				}
			}},
		{name: "other namespace does not match", ref: gate.Ref{Kind: gate.KindPipeline, Name: "p", Namespace: "ci"}, wantErr: gate.ErrNotFound},
		{name: "kind matters", ref: gate.Ref{Kind: gate.KindPipeline, Name: "t"}, wantErr: gate.ErrNotFound},
		{name: "step action", ref: gate.Ref{Kind: gate.KindStepAction, Name: "sa"},
			check: func(t *testing.T, o runtime.Object) {
				if _, ok := o.(*v1beta1.StepAction); !ok {
					t.Errorf("got %T", o)
				}
			}},
		{name: "v1beta1 task converted", ref: gate.Ref{Kind: gate.KindTask, Name: "old"},
			check: func(t *testing.T, o runtime.Object) {
				if _, ok := o.(*v1.Task); !ok {
					t.Errorf("got %T", o)
				}
			}},
		{name: "bundle unsupported", ref: gate.Ref{Kind: gate.KindTask, Name: "t", Resolver: "bundles", Bundle: "r/b@sha256:00"}, wantErr: gate.ErrUnsupported},
		{name: "git unsupported", ref: gate.Ref{Kind: gate.KindTask, Resolver: "git"}, wantErr: gate.ErrUnsupported},
		{name: "no name", ref: gate.Ref{Kind: gate.KindTask}, wantErr: gate.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Resolve(context.Background(), tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res.Object)
		})
	}
	// Returned objects are copies: changing one does not change the index.
	res, _ := r.Resolve(context.Background(), gate.Ref{Kind: gate.KindTask, Name: "t", Namespace: "ci"})
	res.Object.(*v1.Task).Spec.Description = "changed"
	again, _ := r.Resolve(context.Background(), gate.Ref{Kind: gate.KindTask, Name: "t", Namespace: "ci"})
	if again.Object.(*v1.Task).Spec.Description != "ci" {
		t.Error("resolver returned a shared object")
	}
}

func TestChain(t *testing.T) {
	r, _ := New([]runtime.Object{&v1.Task{ObjectMeta: metav1.ObjectMeta{Name: "t"}}})
	bundles := stub{err: nil, obj: &v1.Task{ObjectMeta: metav1.ObjectMeta{Name: "from-bundle"}}}
	c := gate.Chain(r, bundles)
	tests := []struct {
		name string
		ref  gate.Ref
		want string
		err  error
	}{
		{name: "local first", ref: gate.Ref{Kind: gate.KindTask, Name: "t"}, want: "t"},
		{name: "not found stops the chain", ref: gate.Ref{Kind: gate.KindTask, Name: "missing"}, err: gate.ErrNotFound},
		{name: "unsupported falls through", ref: gate.Ref{Kind: gate.KindTask, Name: "t", Resolver: "bundles", Bundle: "x"}, want: "from-bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Resolve(context.Background(), tt.ref)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || res.Object.(*v1.Task).Name != tt.want {
				t.Fatalf("got %v, %v; want %s", res, err, tt.want)
			}
		})
	}
	if _, err := gate.Chain(r).(gate.BundlePinner).PinBundle(context.Background(), gate.Ref{Bundle: "x"}); !errors.Is(err, gate.ErrUnsupported) {
		t.Errorf("PinBundle without a pinner = %v, want ErrUnsupported", err)
	}
}

type stub struct {
	obj runtime.Object
	err error
}

func (s stub) Resolve(context.Context, gate.Ref) (*gate.Resolved, error) {
	return &gate.Resolved{Object: s.obj}, s.err
}
