//go:build e2e

package framework

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/bundle"
)

// BundleImage builds a Tekton bundle (OCI image, one layer per object, each
// a tar holding the object's YAML) with the layer annotations Tekton's
// bundles resolver requires: dev.tekton.image.{name,kind,apiVersion}.
func BundleImage(objs ...*unstructured.Unstructured) (v1.Image, error) {
	srcs := make([]bundle.Source, len(objs))
	for i, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		srcs[i] = bundle.Source{Kind: o.GetKind(), Name: o.GetName(), APIVersion: o.GetAPIVersion(), YAML: data}
	}
	return bundle.Build(srcs)
}

// PushBundle pushes a bundle of objs (YAML documents) to repo:tag in the
// registry and returns its reference by digest.
func (r *Registry) PushBundle(repoTag string, objsYAML string) (string, error) {
	objs, err := DecodeYAML([]byte(objsYAML))
	if err != nil {
		return "", err
	}
	img, err := BundleImage(objs...)
	if err != nil {
		return "", err
	}
	return r.PushImage(repoTag, img)
}

// PushImage pushes img to repo:tag ("repo" is relative to the registry) and
// returns repo@digest, fully qualified.
func (r *Registry) PushImage(repoTag string, img v1.Image) (string, error) {
	ref, err := name.ParseReference(r.Host + "/" + repoTag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}
