package pipelinerunresolver

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	resv1beta1 "github.com/tektoncd/pipeline/pkg/apis/resolution/v1beta1"
	fakepipeline "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	fakeresolution "github.com/tektoncd/pipeline/pkg/client/resolution/clientset/versioned/fake"
	"github.com/tektoncd/pipeline/pkg/resolution/resource"
	"github.com/tektoncd/pipeline/test/parse"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/transient"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func prWithBundles(t *testing.T) *v1.PipelineRun {
	t.Helper()
	pr := parse.MustParseV1PipelineRun(t, `
metadata: {name: release-42, namespace: ci, uid: pr-uid}
spec:
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: registry.example.com/pipelines:v1}
    - {name: name, value: release}
    - {name: kind, value: pipeline}
`)
	pr.Status.PipelineSpec = &v1.PipelineSpec{Tasks: []v1.PipelineTask{{
		Name: "build",
		TaskRef: &v1.TaskRef{ResolverRef: v1.ResolverRef{Resolver: "bundles", Params: v1.Params{
			{Name: "bundle", Value: *v1.NewStructuredValues("registry.example.com/tasks:v2")},
			{Name: "name", Value: *v1.NewStructuredValues("build")},
			{Name: "kind", Value: *v1.NewStructuredValues("task")},
		}}},
	}}}
	pr.Status.Provenance = &v1.Provenance{RefSource: &v1.RefSource{
		URI: "registry.example.com/pipelines:v1", Digest: map[string]string{"sha256": hexB}, EntryPoint: "release"}}
	return pr
}

func rr(name string, owner *v1.PipelineRun, params v1.Params, data string, src *v1.RefSource, status corev1.ConditionStatus) *resv1beta1.ResolutionRequest {
	r := &resv1beta1.ResolutionRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ci", Labels: map[string]string{"resolution.tekton.dev/type": "bundles"}},
		Spec:       resv1beta1.ResolutionRequestSpec{Params: params},
		Status: resv1beta1.ResolutionRequestStatus{
			Status:                        duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status}}},
			ResolutionRequestStatusFields: resv1beta1.ResolutionRequestStatusFields{Data: base64.StdEncoding.EncodeToString([]byte(data)), RefSource: src},
		},
	}
	if owner != nil {
		r.OwnerReferences = []metav1.OwnerReference{{APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: owner.Name, UID: owner.UID, Controller: ptr(true)}}
	}
	return r
}

func ptr[T any](v T) *T { return &v }

const taskV1beta1 = `apiVersion: tekton.dev/v1beta1
kind: Task
metadata: {name: build}
spec:
  steps:
  - name: compile
    image: registry.example.com/go@sha256:` + hexA + `
`

const pipelineV1 = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release}
spec:
  tasks:
  - name: build
    taskRef: {resolver: bundles, params: [{name: bundle, value: registry.example.com/tasks:v2}, {name: name, value: build}]}
`

func taskRRName(t *testing.T, pr *v1.PipelineRun) string {
	t.Helper()
	n, err := resource.GenerateDeterministicNameFromSpec("bundles", "ci/release-42-build",
		&resv1beta1.ResolutionRequestSpec{Params: pr.Status.PipelineSpec.Tasks[0].TaskRef.Params})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newSource(objs []runtime.Object, rrs ...*resv1beta1.ResolutionRequest) *Clients {
	var ro []runtime.Object
	for _, r := range rrs {
		ro = append(ro, r)
	}
	return &Clients{Tekton: fakepipeline.NewSimpleClientset(objs...), Resolution: fakeresolution.NewSimpleClientset(ro...)}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	pr := prWithBundles(t)
	taskRef := gate.Ref{Kind: gate.KindTask, Name: "build", Namespace: "ci", Resolver: "bundles", PipelineTask: "build",
		Params: map[string]string{"bundle": "registry.example.com/tasks:v2", "name": "build", "kind": "task"},
		Bundle: "registry.example.com/tasks:v2", Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42").WithTask("build")}
	pipeRef := gate.Ref{Kind: gate.KindPipeline, Name: "release", Namespace: "ci", Resolver: "bundles",
		Params:  map[string]string{"bundle": "registry.example.com/pipelines:$(params.version)", "name": "release", "kind": "pipeline"},
		Subject: gate.ObjectSubject("pipelinerun", "ci", "release-42")}
	taskSrc := &v1.RefSource{URI: "registry.example.com/tasks:v2", Digest: map[string]string{"sha256": hexA}, EntryPoint: "build"}
	localTask := &v1.Task{ObjectMeta: metav1.ObjectMeta{Name: "lint", Namespace: "ci"}}
	otherNSTask := &v1.Task{ObjectMeta: metav1.ObjectMeta{Name: "lint", Namespace: "other"}}

	for _, tc := range []struct {
		name    string
		pr      *v1.PipelineRun
		objs    []runtime.Object
		rrs     []*resv1beta1.ResolutionRequest
		ref     gate.Ref
		wantErr string
		wantIs  error
		// wantTransient: the error may go away on retry (transient.Is).
		wantTransient bool
		// broken makes the API server fail every read of this resource.
		broken     string
		wantDigest string
		wantImage  string
	}{{
		name:       "bundle task at the digest Tekton resolved (v1beta1 converted)",
		pr:         pr,
		rrs:        []*resv1beta1.ResolutionRequest{rr(taskRRName(t, pr), pr, pr.Status.PipelineSpec.Tasks[0].TaskRef.Params, taskV1beta1, taskSrc, corev1.ConditionTrue)},
		ref:        taskRef,
		wantDigest: "registry.example.com/tasks@sha256:" + hexA,
		wantImage:  "registry.example.com/go@sha256:" + hexA,
	}, {
		name:    "request not finished",
		pr:      pr,
		rrs:     []*resv1beta1.ResolutionRequest{rr(taskRRName(t, pr), pr, nil, taskV1beta1, taskSrc, corev1.ConditionUnknown)},
		ref:     taskRef,
		wantIs:  ErrNotResolvedYet,
		wantErr: "resolution not finished",
		// "Not yet" for the controller and the CLI alike.
		wantTransient: true,
	}, {
		name:    "request failed",
		pr:      pr,
		rrs:     []*resv1beta1.ResolutionRequest{rr(taskRRName(t, pr), pr, nil, taskV1beta1, taskSrc, corev1.ConditionFalse)},
		ref:     taskRef,
		wantErr: "failed",
	}, {
		name:    "content of the wrong kind",
		pr:      pr,
		rrs:     []*resv1beta1.ResolutionRequest{rr(taskRRName(t, pr), pr, nil, pipelineV1, taskSrc, corev1.ConditionTrue)},
		ref:     taskRef,
		wantErr: `content is kind "Pipeline"`,
	}, {
		name:    "no digest recorded",
		pr:      pr,
		rrs:     []*resv1beta1.ResolutionRequest{rr(taskRRName(t, pr), pr, nil, taskV1beta1, &v1.RefSource{URI: "registry.example.com/tasks:v2"}, corev1.ConditionTrue)},
		ref:     taskRef,
		wantErr: "no sha256 digest",
	}, {
		name: "pipelineRef found through the run's provenance",
		pr:   pr,
		rrs: []*resv1beta1.ResolutionRequest{rr("bundles-0123", pr, nil, pipelineV1,
			&v1.RefSource{URI: "registry.example.com/pipelines:v1", Digest: map[string]string{"sha256": hexB}, EntryPoint: "release"}, corev1.ConditionTrue)},
		ref:        pipeRef,
		wantDigest: "registry.example.com/pipelines@sha256:" + hexB,
	}, {
		name: "a request of another PipelineRun is never used",
		pr:   pr,
		rrs: []*resv1beta1.ResolutionRequest{rr("bundles-0123", &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "other-uid"}}, nil, pipelineV1,
			&v1.RefSource{URI: "registry.example.com/pipelines:v1", Digest: map[string]string{"sha256": hexB}, EntryPoint: "release"}, corev1.ConditionTrue)},
		ref:     pipeRef,
		wantErr: "no ResolutionRequest of pipelinerun/ci/release-42",
	}, {
		name:    "remote ref without an owning PipelineRun",
		ref:     taskRef,
		wantIs:  gate.ErrUnsupported,
		wantErr: "has none",
	}, {
		name:    "remote StepAction is resolved only after the gate",
		pr:      pr,
		ref:     gate.Ref{Kind: gate.KindStepAction, Name: "x", Resolver: "git", Subject: gate.TextSubject("s")},
		wantIs:  gate.ErrUnsupported,
		wantErr: "after the gate",
	}, {
		name:    "legacy bundle field",
		pr:      pr,
		ref:     gate.Ref{Kind: gate.KindTask, Name: "x", Bundle: "registry.example.com/t:1", Subject: gate.TextSubject("s")},
		wantIs:  gate.ErrUnsupported,
		wantErr: "legacy bundle field",
	}, {
		name: "task by name from the run's namespace",
		pr:   pr,
		objs: []runtime.Object{localTask, otherNSTask},
		ref:  gate.Ref{Kind: gate.KindTask, Name: "lint", Namespace: "ci", Subject: gate.TextSubject("s")},
	}, {
		name:    "task by name missing",
		pr:      pr,
		ref:     gate.Ref{Kind: gate.KindTask, Name: "lint", Namespace: "ci", Subject: gate.TextSubject("s")},
		wantIs:  gate.ErrNotFound,
		wantErr: "Task ci/lint: not found",
	}, {
		name:          "API server unavailable",
		pr:            pr,
		ref:           gate.Ref{Kind: gate.KindTask, Name: "lint", Namespace: "ci", Subject: gate.TextSubject("s")},
		broken:        "tasks",
		wantErr:       "reading Task ci/lint",
		wantTransient: true,
	}, {
		name:          "ResolutionRequests unreadable",
		pr:            pr,
		ref:           taskRef,
		broken:        "resolutionrequests",
		wantErr:       "etcd is restarting",
		wantTransient: true,
	}, {
		name:    "another namespace is refused",
		pr:      pr,
		objs:    []runtime.Object{otherNSTask},
		ref:     gate.Ref{Kind: gate.KindTask, Name: "lint", Namespace: "other", Subject: gate.TextSubject("s")},
		wantErr: "only use objects of its own namespace",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(tc.objs, tc.rrs...)
			if tc.broken != "" {
				unavailable := func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewServiceUnavailable("etcd is restarting")
				}
				src.Tekton.(*fakepipeline.Clientset).PrependReactor("*", tc.broken, unavailable)
				src.Resolution.(*fakeresolution.Clientset).PrependReactor("*", tc.broken, unavailable)
			}
			r := New(src, "ci", tc.pr)
			got, err := r.Resolve(ctx, tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("error %v is not %v", err, tc.wantIs)
				}
				if transient.Is(err) != tc.wantTransient {
					t.Errorf("transient.Is(%v) = %v, want %v", err, !tc.wantTransient, tc.wantTransient)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.BundleDigest != tc.wantDigest {
				t.Errorf("BundleDigest = %q, want %q", got.BundleDigest, tc.wantDigest)
			}
			if tc.wantImage != "" {
				task, ok := got.Object.(*v1.Task)
				if !ok || task.Kind != "Task" || task.APIVersion != "tekton.dev/v1" || task.Spec.Steps[0].Image != tc.wantImage {
					t.Errorf("object = %#v, want a v1 Task running %s", got.Object, tc.wantImage)
				}
			}
			if tc.ref.Resolver == "bundles" {
				pin, err := r.PinBundle(ctx, tc.ref)
				if err != nil || pin != tc.wantDigest {
					t.Errorf("PinBundle = %q, %v; want %q", pin, err, tc.wantDigest)
				}
			}
		})
	}
}

func TestForPipelineRun(t *testing.T) {
	ctx := context.Background()
	pending := prWithBundles(t)
	pending.Status.PipelineSpec = nil
	if _, _, err := ForPipelineRun(ctx, newSource([]runtime.Object{pending}), "ci", "release-42", nil); !errors.Is(err, ErrPipelineSpecPending) || !transient.Is(err) {
		t.Errorf("pending run: error %v, want ErrPipelineSpecPending, transient", err)
	}
	if _, _, err := ForPipelineRun(ctx, newSource(nil), "ci", "nope", nil); err == nil || !strings.Contains(err.Error(), "pipelinerun/ci/nope") {
		t.Errorf("missing run: error %v, want one naming pipelinerun/ci/nope", err)
	}
	in, res, err := ForPipelineRun(ctx, newSource([]runtime.Object{prWithBundles(t)}), "ci", "release-42", []string{"registry.example.com/app@sha256:" + hexA})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Objects) != 1 || len(in.Images) != 1 || res == nil {
		t.Fatalf("input %+v resolver %v", in, res)
	}
	if !in.Live {
		t.Error("a run read from the cluster is not marked Live: its status.pipelineSpec would not be judged")
	}
	if pr := in.Objects[0].(*v1.PipelineRun); pr.Kind != "PipelineRun" || pr.APIVersion != "tekton.dev/v1" {
		t.Errorf("TypeMeta not set: %+v", pr.TypeMeta)
	}
}

func TestDecodeStepAction(t *testing.T) {
	obj, err := decodeObject([]byte("apiVersion: tekton.dev/v1beta1\nkind: StepAction\nmetadata: {name: s}\nspec: {image: busybox}\n"), gate.KindStepAction)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := obj.(*v1beta1.StepAction); !ok || s.Spec.Image != "busybox" {
		t.Errorf("got %#v", obj)
	}
	if _, err := decodeObject([]byte("apiVersion: example.com/v1\nkind: Task\n"), gate.KindTask); err == nil {
		t.Error("a Task of a foreign API group decoded")
	}
}

// TestDecodeResolvedContent: what Tekton resolved is decoded as Tekton reads
// it (unknown fields dropped, v1beta1 converted to v1), and content of another
// kind than the reference asked for is refused.
func TestDecodeResolvedContent(t *testing.T) {
	tests := []struct {
		name, doc, want string
		wantErr         string
	}{
		{name: "v1 task with a field Tekton ignores", want: gate.KindTask,
			doc: "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  futureField: x\n  steps: [{name: s, image: alpine}]\n"},
		{name: "v1beta1 pipeline converted", want: gate.KindPipeline,
			doc: "apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks: [{name: a, taskRef: {name: t}}]\n"},
		{name: "pipeline where a task was asked for", want: gate.KindTask, wantErr: `kind "Pipeline"`,
			doc: "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n"},
		{name: "two objects", want: gate.KindTask, wantErr: "exactly one",
			doc: "kind: List\napiVersion: v1\nitems:\n- {apiVersion: tekton.dev/v1, kind: Task, metadata: {name: a}}\n- {apiVersion: tekton.dev/v1, kind: Task, metadata: {name: b}}\n"},
		{name: "not YAML", want: gate.KindTask, wantErr: "content", doc: "{["},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeObject([]byte(tt.doc), tt.want)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch o := obj.(type) {
			case *v1.Task:
				if o.APIVersion != "tekton.dev/v1" || o.Spec.Steps[0].Image != "alpine" {
					t.Errorf("task = %+v", o)
				}
			case *v1.Pipeline:
				if o.APIVersion != "tekton.dev/v1" || len(o.Spec.Tasks) != 1 {
					t.Errorf("pipeline = %+v", o)
				}
			default:
				t.Errorf("decoded %T", obj)
			}
		})
	}
}
