//go:build e2e

package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// fieldManager names the e2e suite in server-side apply.
const fieldManager = "security-gate-e2e"

// notInstalled are kinds a manifest set may hold that this control plane
// cannot run or must not have: no kubelet or scheduler runs Deployments, and
// webhooks are reachable only on non-loopback addresses.
var notInstalled = []string{
	"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
	"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
}

// ReadManifests decodes every YAML document in the given files or
// directories (recursively, *.yaml and *.yml).
func ReadManifests(paths ...string) ([]*unstructured.Unstructured, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := DecodeYAML(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		objs = append(objs, docs...)
	}
	return objs, nil
}

// DecodeYAML splits a multi-document YAML stream into objects, skipping
// empty documents.
func DecodeYAML(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// kindOrder applies namespaces and CRDs before what depends on them.
func kindOrder(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	case "ServiceAccount", "ClusterRole", "Role":
		return 2
	case "ClusterRoleBinding", "RoleBinding":
		return 3
	default:
		return 4
	}
}

// Apply server-side applies objs in dependency order, skipping the kinds this
// control plane does not run. CRDs are made webhook-free (conversion strategy
// None: every object here uses the stored version) and waited on until
// Established before anything else is applied.
func (e *Env) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	objs = slices.DeleteFunc(slices.Clone(objs), func(o *unstructured.Unstructured) bool {
		return slices.Contains(notInstalled, o.GetKind())
	})
	sort.SliceStable(objs, func(i, j int) bool { return kindOrder(objs[i].GetKind()) < kindOrder(objs[j].GetKind()) })

	var crds []string
	for i, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			if err := unstructured.SetNestedField(o.Object, map[string]any{"strategy": "None"}, "spec", "conversion"); err != nil {
				return err
			}
			crds = append(crds, o.GetName())
		}
		if err := e.applyOne(ctx, o); err != nil {
			return err
		}
		// Once the last CRD is in, wait for all of them and refresh discovery
		// so the custom resources after them can be mapped.
		if len(crds) > 0 && (i+1 == len(objs) || objs[i+1].GetKind() != "CustomResourceDefinition") &&
			o.GetKind() == "CustomResourceDefinition" {
			if err := e.waitCRDsEstablished(ctx, crds); err != nil {
				return err
			}
			e.mapper.Reset()
		}
	}
	return nil
}

// ApplyYAML decodes and applies a YAML stream.
func (e *Env) ApplyYAML(ctx context.Context, y string) error {
	objs, err := DecodeYAML([]byte(y))
	if err != nil {
		return err
	}
	return e.Apply(ctx, objs)
}

// DryRunApply server-side applies every object (Deployments included) with
// dryRun=All: the API server validates and admits each one, nothing is
// stored. It returns every failure, naming the object.
func (e *Env) DryRunApply(ctx context.Context, objs []*unstructured.Unstructured) error {
	var errs []error
	for _, o := range objs {
		if err := e.apply(ctx, o, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Env) applyOne(ctx context.Context, o *unstructured.Unstructured) error {
	return e.apply(ctx, o, false)
}

func (e *Env) apply(ctx context.Context, o *unstructured.Unstructured, dryRun bool) error {
	gvk := o.GroupVersionKind()
	m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		// A CRD applied by someone else just now: refresh discovery once.
		e.mapper.Reset()
		if m, err = e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return fmt.Errorf("apply %s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	ri := e.Dynamic.Resource(m.Resource)
	var res interface {
		Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
	} = ri
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		res = ri.Namespace(ns)
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := res.Apply(ctx, o.GetName(), o, opts); err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func (e *Env) waitCRDsEstablished(ctx context.Context, names []string) error {
	for _, n := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd, err := e.Dynamic.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				cm, _ := c.(map[string]any)
				if cm["type"] == "Established" && cm["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not Established: %w", n, err)
		}
	}
	return nil
}

func newMapper(e *Env) *restmapper.DeferredDiscoveryRESTMapper {
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(e.Kube.Discovery()))
}
