//go:build e2e

package framework

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// BundleImage builds a Tekton bundle (OCI image, one layer per object, each
// a tar holding the object's YAML) with the layer annotations Tekton's
// bundles resolver requires: dev.tekton.image.{name,kind,apiVersion}.
func BundleImage(objs ...*unstructured.Unstructured) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := tw.WriteHeader(&tar.Header{Name: o.GetName(), Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		b := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
			tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		// apiVersion: tkn writes the version alone (v1); the resolver only
		// checks that it is present.
		_, version, _ := strings.Cut(o.GetAPIVersion(), "/")
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, Annotations: map[string]string{
			"dev.tekton.image.name":       o.GetName(),
			"dev.tekton.image.kind":       strings.ToLower(o.GetKind()),
			"dev.tekton.image.apiVersion": version,
		}})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
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
